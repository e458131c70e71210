// LLaVA-NeXT's "anyres" layout of one image's features, as transformers lays them out: the tile
// grid the image was cut into and, of that grid's feature map, the rows and columns left once the
// padding around the scaled image is cut off. The processor counts image tokens with it, the model
// packs the features with it.
#pragma once
#include <array>
#include <cstdint>
#include <vector>

namespace ps {

struct AnyresLayout {
    int64_t grid_rows = 0, grid_cols = 0;  // tiles
    // The kept part of the (grid_rows * side) x (grid_cols * side) feature map.
    int64_t row0 = 0, rows = 0, col0 = 0, cols = 0;
    // Image tokens: the global view's side x side features, then each kept row with a newline.
    int64_t tokens(int64_t side) const { return side * side + rows * (cols + 1); }
};

// How a tiled model cuts images: the resolutions (height, width) it tiles at, in tiles of `tile`
// pixels that each give side x side features.
struct AnyresGeometry {
    std::vector<std::array<int, 2>> pinpoints;
    int64_t tile = 0, side = 0;
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
