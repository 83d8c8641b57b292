#!/bin/sh
# deps.sh check|install [core|bench|fuzz] - the Debian packages lunette needs;
# installs only what is missing. core: build and test; bench: the Python peers
# that `make bench` and the fixture scripts compare against; fuzz: libFuzzer.
CORE="liblua5.4-dev lua5.4 libopenblas-dev liblapacke-dev libcairo2-dev zlib1g-dev libdeflate-dev lua-busted
libreadline-dev libfftw3-dev dataset-fashion-mnist pkg-config fonts-dejavu-core libsixel-dev
luarocks man-db libsnappy-dev libzstd-dev liblz4-dev libhdf5-dev
libopenmpi-dev openmpi-bin"
BENCH="python3-h5py python3-numpy python3-torch python3-sklearn umap-learn python3-matplotlib
hyperfine
python3-pandas"
FUZZ="clang libclang-rt-14-dev"
# The Jupyter kernel's libraries, and the Jupyter packages its specs drive it with.
CORE="$CORE libzmq3-dev libssl-dev libcjson-dev python3-jupyter-kernel-test python3-nbclient
python3-nbformat"
# numpy and h5py read back what lunette writes (.npy, .npz, safetensors, .h5) in the io specs;
# torch (bench group, hundreds of MB) stays optional: its specs report themselves pending.
CORE="$CORE python3-numpy python3-h5py"
case "${2:-core}" in
  core) PKGS=$CORE ;;
  bench) PKGS="$CORE $BENCH" ;;
  fuzz) PKGS="$CORE $FUZZ" ;;
  *) echo "deps.sh: unknown group '$2' (core, bench, fuzz)" >&2; exit 2 ;;
esac
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
case "$1" in
  check) [ -z "$missing" ] ;;
  install)
    if [ -z "$missing" ]; then echo "deps: all present"; exit 0; fi
    echo "deps: installing$missing"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing ;;
  *) echo "usage: deps.sh check|install [core|bench|fuzz]" >&2; exit 2 ;;
esac
