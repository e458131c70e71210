#include "core/model/anyres.h"

#include <cmath>
#include <string>

#include "core/data/image_processor.h"
#include "core/error.h"

namespace ps {

AnyresLayout AnyresGeometry::layout(int64_t height, int64_t width) const {
    if (height <= 0 || width <= 0 || height > (1 << 20) || width > (1 << 20))
        throw Error("image_sizes", "an image of " + std::to_string(width) + "x" + std::to_string(height) +
                                      " pixels cannot be tiled (each side 1 to 1048576 pixels)");
    if (tile <= 0 || side <= 0) throw Error("image_sizes", "tiles of no size");
    const auto [best_h, best_w] = best_resolution(static_cast<int>(height), static_cast<int>(width), pinpoints);
    AnyresLayout l;
    l.grid_rows = best_h / tile;
    l.grid_cols = best_w / tile;
    l.rows = l.grid_rows * side;
    l.cols = l.grid_cols * side;
    // unpad_image: the side that fits its target less tightly loses its padding; sizes rounded to
    // 7 decimals before truncating, as the Python does.
    auto fitted = [](double x) { return static_cast<int64_t>(std::nearbyint(x * 1e7) / 1e7); };
    if (static_cast<double>(width) / height > static_cast<double>(l.cols) / l.rows) {
        const int64_t pad = (l.rows - fitted(height * (static_cast<double>(l.cols) / width))) / 2;
        l.row0 = pad;
        l.rows -= 2 * pad;
    } else {
        const int64_t pad = (l.cols - fitted(width * (static_cast<double>(l.rows) / height))) / 2;
        l.col0 = pad;
        l.cols -= 2 * pad;
    }
    return l;
}

}  // namespace ps
