#include "core/model/anyres.h"

#include <cmath>
#include <string>

#include "core/data/image_processor.h"
#include "core/error.h"

namespace ps {
namespace {

// Python's float a // b for positive operands: (a - fmod(a, b)) / b, floored, rounded up when it
// falls more than half below.
double python_floor_div(double a, double b) {
    const double div = (a - std::fmod(a, b)) / b;
    const double floor = std::floor(div);
    return div - floor > 0.5 ? floor + 1 : floor;
}

}  // namespace

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
    l.packed_rows = l.rows;
    l.packed_cols = l.cols;
    // anyres_max: more features than max_tiles tiles give (by more than 1.1 times a side) are
    // scaled down to about that many, each side floor-divided by the ratio as Python's // does.
    if (max_tiles > 0) {
        const double ratio = std::sqrt(static_cast<double>(l.rows * l.cols) / static_cast<double>(max_tiles * side * side));
        if (ratio > 1.1) {
            l.packed_rows = static_cast<int64_t>(python_floor_div(static_cast<double>(l.rows), ratio));
            l.packed_cols = static_cast<int64_t>(python_floor_div(static_cast<double>(l.cols), ratio));
        }
    }
    return l;
}

}  // namespace ps
