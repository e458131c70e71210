#include "core/model/modality.h"

namespace ps {

const char* modality_name(Modality m) {
    switch (m) {
        case Modality::Vision: return "vision";
        case Modality::Projector: return "projector";
        case Modality::Language: return "language";
        case Modality::Other: break;
    }
    return "other";
}

}  // namespace ps
