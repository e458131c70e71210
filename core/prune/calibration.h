// The calibration batches a pruning run feeds through the model, built from a Plan's calibration
// section: a seeded subset of the Fashion-MNIST training images with one class prompt each, or the
// first items of a seeded shuffle of a captions.jsonl folder, of a LLaVA conversation file, or of
// the rows of a .safetensors file of model inputs (core/data/inputs_file.h: its first rows, in order). Dual
// encoders get image + caption batches; a generative VLM one chat prompt about each image (a
// conversation: its first question and answer, labelled for the answer's next-token loss); a
// language model alone (a GGUF file) the captions themselves as chat prompts, without images.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/data/calibration_options.h"
#include "core/data/inputs_file.h"
#include "core/model/vlm.h"

namespace ps {

std::vector<VlmInputs> calibration_batches(const Vlm& model, const CalibrationOptions& calibration, uint64_t seed);

// Rows of a file of model inputs as one batch, in the order given (each image's patches gathered
// with it when the file has a patch grid).
VlmInputs inputs_rows(const InputsFile& file, const std::vector<int64_t>& rows);

// Why `calibration` cannot give batches for `model` (prompts_unavailable, unless it names a file of
// model inputs, which needs neither tokenizer nor image processor); empty when it can.
std::string calibration_unavailable(const Vlm& model, const CalibrationOptions& calibration);

// Why the checkpoint of `model` cannot build prompts (a missing or broken tokenizer or image
// processor, as reading it said); empty when it can.
std::string prompts_unavailable(const Vlm& model);

}  // namespace ps
