// The calibration batches a pruning run feeds through the model, built from a Plan's calibration
// section: a seeded subset of the Fashion-MNIST training images with one class prompt each, or the
// first items of a seeded shuffle of a captions.jsonl folder, or of a LLaVA conversation file. Dual
// encoders get image + caption batches; a generative VLM one chat prompt about each image (a
// conversation: its first question and answer, labelled for the answer's next-token loss); a
// language model alone (a GGUF file) the captions themselves as chat prompts, without images.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "core/data/calibration_options.h"
#include "core/model/vlm.h"

namespace ps {

std::vector<VlmInputs> calibration_batches(const Vlm& model, const CalibrationOptions& calibration, uint64_t seed);

// Why the checkpoint of `model` cannot make calibration batches (a missing or broken tokenizer or
// image processor, as reading it said); empty when it can.
std::string calibration_unavailable(const Vlm& model);

}  // namespace ps
