// A user's own captioned image folder: `captions.jsonl` beside the images, one JSON object per
// line, {"image": "relative/path.png", "caption": "text", "label": "optional class name"}.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace ps {

struct CaptionedImage {
    std::string image;    // the folder joined with the relative path from captions.jsonl
    std::string caption;
    std::string label;    // may be empty
};

struct CaptionDataset {
    std::string dir;
    std::vector<CaptionedImage> items;
    std::vector<std::string> labels;   // distinct non-empty labels in first-seen order
    std::vector<int64_t> label_index;  // per item, an index into labels, or -1 when it has none
};

// Reads <dir>/captions.jsonl (blank lines skipped, other keys ignored). Images are checked to
// exist but not decoded (load_image does that). Throws ps::Error naming the folder, or the file
// and line: no such folder, no captions.jsonl, a line that is not a JSON object or lacks a string
// "image" or "caption", a "label" that is not a string, an image path that is absolute or has a
// ".." component, an image that does not exist, or no images at all.
CaptionDataset load_caption_folder(const std::string& dir);

}  // namespace ps
