"""Idefics3 and SmolVLM vision position ids as the models were trained with them.

transformers 4.55 to 4.57 compute the fractional patch coordinates as index / n * (1 - 1e-6) in
float32, which puts every patch of a full image one position back (transformers issue 41190); 4.54
and the releases that fixed it take torch.arange(0, 1 - 1e-6, 1 / n). use_trained_positions()
puts that formula back into both vision embeddings, for the reference scripts and hf_check.py.
"""
import torch
from transformers.models.idefics3 import modeling_idefics3
from transformers.models.smolvlm import modeling_smolvlm


def _forward(self, pixel_values, patch_attention_mask):
    batch_size, _, max_im_h, max_im_w = pixel_values.shape
    embeddings = self.patch_embedding(pixel_values).flatten(2).transpose(1, 2)
    max_h, max_w = max_im_h // self.patch_size, max_im_w // self.patch_size
    boundaries = torch.arange(1 / self.num_patches_per_side, 1.0, 1 / self.num_patches_per_side)
    position_ids = torch.full(size=(batch_size, max_h * max_w), fill_value=0)
    for batch_idx, p_attn_mask in enumerate(patch_attention_mask):
        coords_h = torch.arange(0, 1 - 1e-6, 1 / p_attn_mask[:, 0].sum())
        coords_w = torch.arange(0, 1 - 1e-6, 1 / p_attn_mask[0].sum())
        bucket_h = torch.bucketize(coords_h, boundaries, right=True)
        bucket_w = torch.bucketize(coords_w, boundaries, right=True)
        position_ids[batch_idx][p_attn_mask.view(-1).cpu()] = (bucket_h[:, None] * self.num_patches_per_side + bucket_w).flatten()
    return embeddings + self.position_embedding(position_ids.to(self.position_embedding.weight.device))


def use_trained_positions():
    for module in (modeling_idefics3.Idefics3VisionEmbeddings, modeling_smolvlm.SmolVLMVisionEmbeddings):
        module.forward = _forward
