#!/usr/bin/env python3
"""UVR MDX-Net per-chunk reference (UVR 5.6 separate.py run_model + lib_v5 STFT), in torch.

Usage: mdx_reference.py <in.f32> <out.f32> n_fft dim_f dim_t compensate g0 g1 g2 g3
in.f32: float32 [2, chunk] (chunk = 1024·(dim_t − 1)); the "model" scales channel k of the
[1, 4, dim_f, dim_t] spectrogram by g_k (as test/models-manager/fixtures/contract-mdx-gains.onnx).
Writes float32 [2, chunk]: the primary stem (model output · compensate).
"""
import sys

import numpy as np
import torch

HOP = 1024


def main():
    src, dst = sys.argv[1], sys.argv[2]
    n_fft, dim_f, dim_t = (int(v) for v in sys.argv[3:6])
    compensate = float(sys.argv[6])
    gains = torch.tensor([float(v) for v in sys.argv[7:11]], dtype=torch.float32)
    chunk = HOP * (dim_t - 1)
    x = torch.from_numpy(np.fromfile(src, dtype=np.float32).reshape(1, 2, chunk))
    window = torch.hann_window(window_length=n_fft, periodic=True)
    n_bins = n_fft // 2 + 1
    # STFT as lib_v5/tfc_tdf_v3.py STFT.__call__
    spec = torch.stft(x.reshape(-1, chunk), n_fft=n_fft, hop_length=HOP, window=window, center=True, return_complex=True)
    spec = torch.view_as_real(spec).permute(0, 3, 1, 2).reshape(1, 2, 2, n_bins, -1).reshape(1, 4, n_bins, -1)
    spec = spec[:, :, :dim_f]
    spec[:, :, :3, :] *= 0  # run_model
    assert spec.shape[-1] == dim_t
    pred = spec * gains[None, :, None, None]  # the "model"
    # inverse as STFT.inverse
    pad = torch.zeros(1, 4, n_bins - dim_f, dim_t)
    full = torch.cat([pred, pad], -2).reshape(1, 2, 2, n_bins, dim_t).reshape(2, 2, n_bins, dim_t).permute(0, 2, 3, 1)
    wave = torch.istft(torch.view_as_complex(full.contiguous()), n_fft=n_fft, hop_length=HOP, window=window, center=True)
    out = (wave.reshape(2, -1)[:, :chunk] * compensate).numpy().astype(np.float32)
    if out.shape[1] < chunk:
        out = np.pad(out, ((0, 0), (0, chunk - out.shape[1])))
    out.tofile(dst)


if __name__ == "__main__":
    main()
