// The "anyres" layout of one image's features (LLaVA-NeXT, LLaVA-OneVision), as transformers lays
// them out: the tile grid the image was cut into; of that grid's feature map, the rows and columns
// left once the padding around the scaled image is cut off; and the size OneVision scales that part
// down to when it holds more than its anyres_max tiles' worth. The processor counts image tokens
// with it, the model packs the features with it.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

namespace ps {

struct AnyresLayout {
    int64_t grid_rows = 0, grid_cols = 0;  // tiles
    // The kept part of the (grid_rows * side) x (grid_cols * side) feature map...
    int64_t row0 = 0, rows = 0, col0 = 0, cols = 0;
    // ...and the size it is interpolated to (bilinear) before packing; rows x cols when it is not.
    int64_t packed_rows = 0, packed_cols = 0;
    // Image tokens: the global view's side x side features, then each packed row with a newline.
    int64_t tokens(int64_t side) const { return side * side + packed_rows * (packed_cols + 1); }
};

// How a tiled model cuts images: the resolutions (height, width) it tiles at, in tiles of `tile`
// pixels that each give side x side features; OneVision's vision_aspect_ratio "anyres_max_N" gives
// max_tiles N (0: no limit, LLaVA-NeXT).
struct AnyresGeometry {
    std::vector<std::array<int, 2>> pinpoints;
    int64_t tile = 0, side = 0, max_tiles = 0;
    // The layout of an image of height x width pixels. Throws ps::Error for a non-positive size.
    AnyresLayout layout(int64_t height, int64_t width) const;
};

// A model whose images may be tiled (the LLaVA family): reach it with
// dynamic_cast<const TiledVlm*>(vlm).
class TiledVlm {
public:
    virtual ~TiledVlm() = default;
    // How it tiles images; nullptr when this checkpoint takes whole images (LLaVA-1.5).
    virtual const AnyresGeometry* anyres() const = 0;
};

}  // namespace ps
