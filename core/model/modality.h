// The parts of a vision-language model a Linear can belong to.
#pragma once

namespace ps {

enum class Modality { Vision = 0, Projector = 1, Language = 2, Other = 3 };
constexpr int kNumModalities = 4;
const char* modality_name(Modality m);

}  // namespace ps
