#include "ui/modality_colors.h"

#include <QPainter>
#include <QPixmap>

namespace ps {

QColor modalityColor(Modality m) {
    switch (m) {
        case Modality::Vision: return QColor(0x3b, 0x75, 0xaf);     // blue
        case Modality::Projector: return QColor(0xe6, 0x8a, 0x1f);  // amber
        case Modality::Language: return QColor(0x3a, 0x92, 0x3a);   // green
        case Modality::Other: break;
    }
    return QColor(0x8c, 0x8c, 0x8c);  // grey
}

QIcon modalityIcon(Modality m) {
    QPixmap pix(12, 12);
    pix.fill(Qt::transparent);
    QPainter p(&pix);
    const QColor c = modalityColor(m);
    p.setPen(c.darker(140));
    p.setBrush(c);
    p.drawRect(1, 1, 9, 9);
    return QIcon(pix);
}

}  // namespace ps
