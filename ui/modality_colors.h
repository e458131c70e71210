// The one colour of each modality, shared by the layer tree and the charts so that vision,
// projector, language and other look the same everywhere in the app.
#pragma once
#include <QColor>
#include <QIcon>

#include "core/model/family.h"

namespace ps {

QColor modalityColor(Modality m);
// A small filled square in the modality's colour, for tree rows and legends.
QIcon modalityIcon(Modality m);

}  // namespace ps
