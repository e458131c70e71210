"""Hand references for run-time token pruning in Qwen2-VL, Qwen2.5-VL and Qwen3-VL, built from
transformers' own modules.

vision: the vision blocks run one by one as the model runs them; after
block BLOCK each patch is scored by the attention it receives there (column sums over the queries
within its image or window, mean over heads), each 2 x 2 group of patches (one merged token) by
the mean of its four, and every image keeps round(KEEP x its groups) groups with the highest
scores. The later blocks run on the kept patches with their rotary positions, attending within
what is left of each image and window; the merger's tokens go back to the image's order; their
image pads leave the prompt, and the decoder runs on the rest with the multimodal positions
get_rope_index gave the whole prompt. Qwen3-VL: the outputs of the DeepStack blocks lose the same
patches (those before BLOCK when it drops them), go through their mergers, and are added to the
image tokens left after the decoder's first layers.

text (FastV): the whole model runs with eager attention; after decoder layer BLOCK the image tokens
are scored by the attention the prompt's last token gives them there (mean over heads), the
round(KEEP x image tokens) highest stay with every text token, and the later layers run on those
with their positions and a causal mask over what is left (Qwen3-VL: DeepStack's features of the
image tokens left added after the first layers, as in the whole model).

  qwen_vl_token_reference.py DIR vision|text BLOCK KEEP

DIR is a folder written by qwen_vl_reference.py (the checkpoint and reference.safetensors, whose
two-image prompt is used); writes DIR/tokens-<vision|text>.safetensors with
  scores   [G]         vision: each merged token's score at BLOCK (its patches' mean), both images in order
  kept     [K] int64   vision: the merged tokens kept, over both images in order; text: the prompt's
                       positions kept
  logits   [1,T',V]    the decoder's logits on the shortened prompt
"""
import math
import os
import sys

import torch
import transformers as tf
from safetensors.torch import load_file, save_file


def received(block, hidden, cos, sin, bounds):
    """Attention each patch receives at `block`, within the runs [bounds[i], bounds[i+1])."""
    n = hidden.shape[0]
    heads = block.attn.num_heads
    q, k, _ = block.attn.qkv(block.norm1(hidden)).reshape(n, 3, heads, -1).permute(1, 0, 2, 3).unbind(0)
    cos, sin = cos.unsqueeze(-2).float(), sin.unsqueeze(-2).float()
    rot = lambda x: torch.cat((-x[..., x.shape[-1] // 2:], x[..., : x.shape[-1] // 2]), -1)
    q, k = q.float() * cos + rot(q.float()) * sin, k.float() * cos + rot(k.float()) * sin
    scores = torch.zeros(n)
    for a, b in zip(bounds[:-1], bounds[1:]):
        probs = torch.softmax(torch.einsum("qhd,khd->hqk", q[a:b], k[a:b]) / math.sqrt(q.shape[-1]), -1)
        scores[a:b] = probs.sum(1).mean(0)
    return scores


def runs(bounds, kept):
    """Cumulative bounds of the runs [bounds[i], bounds[i+1]) counting only the kept positions."""
    counts = [int(((kept >= a) & (kept < b)).sum()) for a, b in zip(bounds[:-1], bounds[1:])]
    return [0] + torch.tensor([c for c in counts if c > 0]).cumsum(0).tolist()


def keep_count(keep, candidates):
    """kept_tokens: round half away from zero, at least one."""
    return max(1, math.floor(keep * candidates + 0.5))


def deepstack_per_token(model, ids, features):
    """DeepStack's merged features [N, D] per layer as [1, T, D]: at the image pads of `ids`, zero elsewhere."""
    out = []
    for f in features:
        t = torch.zeros(ids.shape[1], f.shape[-1])
        t[ids[0] == model.config.image_token_id] = f
        out.append(t.unsqueeze(0))
    return out


def text_guided(folder, ref, block, keep):
    model = tf.AutoModelForImageTextToText.from_pretrained(folder, attn_implementation="eager").eval()
    ids, grid = ref["input_ids"], ref["image_grid_thw"]
    mask = torch.ones_like(ids)
    lm = model.model.language_model
    with torch.no_grad():
        outputs = {}
        hook = lm.layers[block].register_forward_hook(lambda _m, _i, o: outputs.__setitem__("hidden", (o[0] if isinstance(o, tuple) else o).clone()))
        out = model(input_ids=ids, pixel_values=ref["pixel_values"], image_grid_thw=grid, attention_mask=mask, output_attentions=True)
        hook.remove()
        deepstack = []
        if hasattr(model.model.visual, "deepstack_merger_list"):
            deepstack = deepstack_per_token(model, ids, model.model.get_image_features(ref["pixel_values"], grid)[1])
        scores = out.attentions[block][0, :, -1, :].mean(0)
        pads = (ids[0] == model.config.image_token_id).nonzero().squeeze(1)
        stay = ids[0] != model.config.image_token_id
        stay[pads[scores[pads].topk(keep_count(keep, pads.numel())).indices]] = True
        hidden = outputs["hidden"] + (deepstack[block] if block < len(deepstack) else 0)
        hidden = hidden[:, stay]
        positions, _ = model.model.get_rope_index(ids, grid, None, attention_mask=mask)
        positions = positions[:, :, stay]
        cos_sin = lm.rotary_emb(hidden, positions)
        n = hidden.shape[1]
        causal = torch.full((n, n), float("-inf")).triu(1)[None, None]
        for i, layer in enumerate(lm.layers[block + 1:], start=block + 1):
            o = layer(hidden, attention_mask=causal, position_ids=positions, position_embeddings=cos_sin)
            hidden = o[0] if isinstance(o, tuple) else o
            if i < len(deepstack):
                hidden = hidden + deepstack[i][:, stay]
        logits = model.lm_head(lm.norm(hidden))
    kept = stay.nonzero().squeeze(1)
    print(f"kept {int(pads.numel() - (~stay).sum())} of {pads.numel()} image tokens after layer {block}, "
          f"prompt {ids.shape[1]} -> {kept.numel()} tokens")
    return {"kept": kept, "logits": logits}


def in_vision(folder, ref, block, keep):
    model = tf.AutoModelForImageTextToText.from_pretrained(folder).eval()
    visual = model.model.visual
    unit = visual.spatial_merge_size ** 2
    grid = ref["image_grid_thw"]
    with torch.no_grad():
        hidden = visual.patch_embed(ref["pixel_values"])
        if hasattr(visual, "fast_pos_embed_interpolate"):  # Qwen3-VL's learned positions
            hidden = hidden + visual.fast_pos_embed_interpolate(grid)
        deepstack_blocks = getattr(visual, "deepstack_visual_indexes", [])
        deep = []  # the DeepStack blocks' outputs so far, on the patches still present
        rotary = visual.rot_pos_emb(grid)
        n = hidden.shape[0]
        image_bounds = [0] + torch.repeat_interleave(grid[:, 1] * grid[:, 2], grid[:, 0]).cumsum(0).tolist()
        if hasattr(visual, "get_window_index"):  # Qwen2.5-VL: patches grouped by window
            window_index, window_bounds = visual.get_window_index(grid)
            window_bounds = torch.unique_consecutive(torch.tensor(window_bounds)).tolist()
            full = visual.fullatt_block_indexes
        else:
            window_index, window_bounds, full = torch.arange(n // unit), image_bounds, range(len(visual.blocks))
        order = (window_index.unsqueeze(1) * unit + torch.arange(unit)).reshape(-1)
        hidden, rotary = hidden[order], rotary[order]
        emb = torch.cat((rotary, rotary), -1)
        cos, sin = emb.cos(), emb.sin()
        groups = torch.arange(n // unit)  # positions in window order of the groups still present
        for i, blk in enumerate(visual.blocks):
            bounds = image_bounds if i in full else window_bounds
            cu = torch.tensor(bounds, dtype=torch.int32)
            if i == block:
                scores = received(blk, hidden, cos, sin, bounds)
            hidden = blk(hidden, cu_seqlens=cu, position_embeddings=(cos, sin))
            if i in deepstack_blocks:
                deep.append(hidden)
            if i == block:
                means = scores.view(-1, unit).mean(1)
                heat = torch.empty_like(means)
                heat[window_index] = means
                chosen = []
                for a, b in zip(image_bounds[:-1], image_bounds[1:]):
                    g0, g1 = a // unit, b // unit
                    top = means[g0:g1].topk(keep_count(keep, g1 - g0)).indices + g0
                    chosen.append(top)
                chosen = torch.cat(chosen).sort().values
                tokens = (chosen.unsqueeze(1) * unit + torch.arange(unit)).reshape(-1)
                hidden, cos, sin, groups = hidden[tokens], cos[tokens], sin[tokens], groups[chosen]
                deep = [d[tokens] for d in deep]
                image_bounds, window_bounds = runs(image_bounds, tokens), runs(window_bounds, tokens)
        merged = visual.merger(hidden)
        original = window_index[groups]  # each kept merged token's index in the images' order
        kept, back = original.sort()
        features = merged[back]
        deep = [visual.deepstack_merger_list[k](d)[back] for k, d in enumerate(deep)]

        ids = ref["input_ids"]
        mask = torch.ones_like(ids)
        positions, _ = model.model.get_rope_index(ids, grid, None, attention_mask=mask)
        pads = ids[0] == model.config.image_token_id
        ordinal = torch.cumsum(pads.long(), 0) - 1
        stay = ~pads | torch.isin(ordinal, kept)
        ids, positions = ids[:, stay], positions[:, :, stay]
        embeds = model.get_input_embeddings()(ids)
        embeds[ids == model.config.image_token_id] = features.to(embeds.dtype)
        if deep:  # Qwen3-VL: the decoder takes DeepStack's features of the image tokens left
            lm = model.model.language_model(inputs_embeds=embeds, position_ids=positions, attention_mask=torch.ones_like(ids),
                                            visual_pos_masks=ids == model.config.image_token_id, deepstack_visual_embeds=deep)
            logits = model.lm_head(lm.last_hidden_state)
        else:
            logits = model(inputs_embeds=embeds, position_ids=positions, attention_mask=torch.ones_like(ids)).logits
    print(f"kept {kept.numel()} of {int(pads.sum())} merged tokens, prompt {stay.numel()} -> {int(stay.sum())} tokens")
    return {"kept": kept, "logits": logits, "scores": heat}


def main():
    folder, mode, block, keep = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])
    ref = load_file(os.path.join(folder, "reference.safetensors"))
    out = (text_guided if mode == "text" else in_vision)(folder, ref, block, keep)
    save_file({k: v.contiguous() for k, v in out.items()}, os.path.join(folder, f"tokens-{mode}.safetensors"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
