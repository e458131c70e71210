// The files of a checkpoint folder besides its weights (config, tokenizer, image processor and
// whatever else a Hugging Face folder carries), which every writer of a derived checkpoint copies.
#pragma once
#include <set>
#include <string>

namespace ps {

// Copies the regular files of `src` into `dst`, except weights (*.safetensors and
// model.safetensors.index.json) and the file names in `skip`.
void copy_checkpoint_side_files(const std::string& src, const std::string& dst, const std::set<std::string>& skip);

}  // namespace ps
