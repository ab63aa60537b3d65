"""PyInstaller runtime hook for bundles built with ``PHOTOCLIP_BUNDLE_GPU`` unset: the CUDA
libraries torch loads only for GPU work (cuDNN's engines and more) were left out, so this build
must never pick a GPU, even on a machine that has one."""

import os

os.environ["CUDA_VISIBLE_DEVICES"] = ""
