// The files of a checkpoint folder besides its weights (config, tokenizer, image processor and
// whatever else a Hugging Face folder carries), which every writer of a derived checkpoint copies;
// and what identifies a checkpoint's state on disk, for caches of results computed from it.
#pragma once
#include <set>
#include <string>

#include <nlohmann/json.hpp>

namespace ps {

// Copies the regular files of `src` into `dst`, except weights (*.safetensors and
// model.safetensors.index.json) and the file names in `skip`. A .gguf `src` gives the config and
// tokenizer files written from its metadata (core/io/gguf_checkpoint.h).
void copy_checkpoint_side_files(const std::string& src, const std::string& dst, const std::set<std::string>& skip);

// Names, sizes and modification times of the folder's *.safetensors and *.json files (of a .gguf
// file: its own), sorted by name: a changed checkpoint gives a different value.
nlohmann::json checkpoint_identity(const std::string& dir);

}  // namespace ps
