"""Reference side of the image tests: PIL decoding and resizing, transformers' image processors.

  decode OUT_DIR      sample image files (PNG RGB / grey / RGBA / palette, JPEG, EXIF-rotated JPEG)
                      and what transformers.image_utils.load_image makes of each: decoded.safetensors,
                      uint8 [H, W, 3] keyed by file name
  headers OUT_DIR     small files of every format and variant the header reader knows (PNG, baseline /
                      progressive / EXIF JPEG, BMP, lossy / lossless / extended WebP, TIFF) with
                      headers.json: file name -> [width, height] PIL reads; and files that declare
                      more than 2^26 pixels: real 8200 x 8200 PNG, JPEG, WebP and TIFF
  resample OUT_DIR    random uint8 images and PIL.Image.resize of them with every convolution filter:
                      resample.safetensors and resample.json (one entry per resize)
  processors OUT_DIR  test images as PNG; per case a folder with the preprocessor_config.json the
                      processor saves; the pixel_values [3, H, W] it produces for every image in
                      expected.safetensors ("<case>/<image>"); cases.json lists cases and images
"""
import json
import os
import sys

import numpy as np
from PIL import Image
from safetensors.numpy import save_file


def noise(rng, h, w, c=3):
    return rng.integers(0, 256, (h, w, c), dtype=np.uint8)


def smooth(h, w, phase=0.0):
    """Gradients and slow waves: the content real photos have, where resampling errors show."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    r = 255 * y / max(h - 1, 1)
    g = 255 * x / max(w - 1, 1)
    b = 127.5 + 127.5 * np.sin(x / 9.0 + phase) * np.cos(y / 13.0)
    return np.clip(np.stack([r, g, b], -1).round(), 0, 255).astype(np.uint8)


def decode(out):
    rng = np.random.default_rng(1)
    rgb = smooth(61, 97)
    rgb[::7] = noise(rng, 61, 97)[::7]
    Image.fromarray(rgb).save(f"{out}/rgb.png")
    Image.fromarray(rgb[..., 1]).save(f"{out}/gray.png")
    rgba = np.concatenate([rgb, noise(rng, 61, 97, 1)], -1)
    Image.fromarray(rgba).save(f"{out}/rgba.png")
    Image.fromarray(rgb).quantize(37).save(f"{out}/palette.png")
    Image.fromarray(rgb).save(f"{out}/rgb.jpg", quality=90)
    Image.fromarray(rgb[..., 0]).save(f"{out}/gray.jpg", quality=85)
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 degrees clockwise to display
    Image.fromarray(rgb).save(f"{out}/exif_rotated.jpg", quality=95, exif=exif)

    from transformers.image_utils import load_image

    names = ["rgb.png", "gray.png", "rgba.png", "palette.png", "rgb.jpg", "gray.jpg", "exif_rotated.jpg"]
    save_file({n: np.ascontiguousarray(np.array(load_image(f"{out}/{n}"))) for n in names},
              f"{out}/decoded.safetensors")


def headers(out):
    rgb = smooth(23, 37)
    exif = Image.Exif()
    exif[0x010E] = "a description"
    files = {
        "rgb.png": dict(format="PNG"),
        "baseline.jpg": dict(format="JPEG", quality=90),
        "progressive.jpg": dict(format="JPEG", quality=90, progressive=True),
        "exif.jpg": dict(format="JPEG", exif=exif),
        "rgb.bmp": dict(format="BMP"),
        "lossy.webp": dict(format="WEBP", quality=80),
        "lossless.webp": dict(format="WEBP", lossless=True),
        "extended.webp": dict(format="WEBP", quality=80, exif=exif),
        "rgb.tif": dict(format="TIFF"),
        "deflate.tif": dict(format="TIFF", compression="tiff_deflate"),
    }
    sizes = {}
    for name, kw in files.items():
        Image.fromarray(rgb).save(f"{out}/{name}", **kw)
        with Image.open(f"{out}/{name}") as im:
            sizes[name] = list(im.size)
    with open(f"{out}/extended.webp", "rb") as fh:
        assert fh.read()[12:16] == b"VP8X", "extended.webp is not an extended WebP"
    with open(f"{out}/headers.json", "w") as fh:
        json.dump(sizes, fh)

    big = Image.new("RGB", (8200, 8200), (40, 90, 200))  # one colour: each file is under 1.1 MB
    big.save(f"{out}/big.png")
    big.save(f"{out}/big.jpg", quality=50)
    big.save(f"{out}/big.webp", lossless=True)
    big.save(f"{out}/big.tif", compression="tiff_deflate")


def resample(out):
    rng = np.random.default_rng(2)
    # (in_w, in_h, out_w, out_h): non-integer down- and upscales, one axis only, extremes, identity
    sizes = [(317, 211, 224, 149), (64, 480, 100, 300), (211, 317, 211, 100), (211, 317, 500, 317),
             (7, 5, 300, 2), (500, 3, 1, 1), (13, 11, 13, 11), (640, 480, 224, 168), (33, 47, 224, 224)]
    tensors, entries = {}, []
    for i, (iw, ih, ow, oh) in enumerate(sizes):
        for mode, c in (("RGB", 3), ("L", 1)):  # PIL infers the mode from the array's shape
            src = noise(rng, ih, iw, 3) if i % 2 == 0 else smooth(ih, iw, phase=i)
            src = src if c == 3 else np.ascontiguousarray(src[..., 1:2])
            key = f"in{i}_{mode}"
            tensors[key] = src
            img = Image.fromarray(src if c == 3 else src[..., 0])
            for f in (1, 2, 3, 4, 5):
                dst = np.array(img.resize((ow, oh), resample=f)).reshape(oh, ow, c)
                tensors[f"{key}_f{f}"] = np.ascontiguousarray(dst)
                entries.append({"input": key, "output": f"{key}_f{f}", "width": ow, "height": oh, "filter": f})
    save_file(tensors, f"{out}/resample.safetensors")
    with open(f"{out}/resample.json", "w") as fh:
        json.dump(entries, fh)


def processors(out):
    from transformers import CLIPImageProcessor, SiglipImageProcessor, ViTImageProcessor
    from transformers.image_utils import load_image

    rng = np.random.default_rng(3)
    images = {
        "noise_317x211": noise(rng, 211, 317),
        "gradient_64x480": smooth(480, 64),
        "photo_640x480": np.clip(smooth(480, 640, 1.0).astype(int) + rng.integers(-12, 13, (480, 640, 3)),
                                 0, 255).astype(np.uint8),
        "small_150x100": smooth(100, 150, 2.0),
        "gray_200x300": smooth(300, 200)[..., 2],
        "rgba_120x90": np.concatenate([smooth(90, 120), noise(rng, 90, 120, 1)], -1),
    }
    for name, a in images.items():
        Image.fromarray(a).save(f"{out}/{name}.png")

    cases = {
        "clip": CLIPImageProcessor(size={"shortest_edge": 224}, crop_size={"height": 224, "width": 224}),
        # crop taller than the resized short side: zero padding with an odd total; own mean / std
        "clip_pad": CLIPImageProcessor(size={"shortest_edge": 160}, crop_size={"height": 201, "width": 224},
                                       image_mean=[0.1, 0.2, 0.3], image_std=[0.9, 0.5, 0.25]),
        "clip_noresize": CLIPImageProcessor(do_resize=False, crop_size={"height": 224, "width": 224}),
        "siglip": SiglipImageProcessor(size={"height": 224, "width": 224}),
        "siglip_384": SiglipImageProcessor(size={"height": 384, "width": 384}),
        "vit": ViTImageProcessor(size={"height": 224, "width": 224}),
        "vit_imagenet": ViTImageProcessor(size={"height": 160, "width": 96}, rescale_factor=1 / 256,
                                          image_mean=[0.485, 0.456, 0.406], image_std=[0.229, 0.224, 0.225]),
        "vit_raw_lanczos": ViTImageProcessor(size={"height": 100, "width": 300}, resample=1, do_rescale=False,
                                             image_mean=[127.5, 127.5, 127.5], image_std=[127.5, 64.0, 32.0]),
    }
    for name, proc in cases.items():
        proc.save_pretrained(f"{out}/{name}")
    # An older checkpoint's file: a feature extractor type and bare integer sizes.
    os.makedirs(f"{out}/clip_legacy", exist_ok=True)
    with open(f"{out}/clip_legacy/preprocessor_config.json", "w") as fh:
        json.dump({"feature_extractor_type": "CLIPFeatureExtractor", "size": 336, "crop_size": 336,
                   "do_center_crop": True, "do_normalize": True, "do_resize": True, "resample": 3,
                   "image_mean": [0.48145466, 0.4578275, 0.40821073],
                   "image_std": [0.26862954, 0.26130258, 0.27577711]}, fh)
    cases["clip_legacy"] = CLIPImageProcessor.from_pretrained(f"{out}/clip_legacy")

    expected = {}
    for case, proc in cases.items():
        for name in images:
            pv = proc(images=load_image(f"{out}/{name}.png"), return_tensors="np")["pixel_values"][0]
            assert pv.dtype == np.float32 and pv.shape[0] == 3, (case, name, pv.dtype, pv.shape)
            expected[f"{case}/{name}"] = np.ascontiguousarray(pv)
    save_file(expected, f"{out}/expected.safetensors")
    with open(f"{out}/cases.json", "w") as fh:
        json.dump({"cases": list(cases), "images": list(images)}, fh)


def main():
    cmd, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    {"decode": decode, "headers": headers, "resample": resample, "processors": processors}[cmd](out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
