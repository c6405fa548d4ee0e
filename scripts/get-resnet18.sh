#!/usr/bin/env bash
# Puts the ImageNet ResNet18 (feature extractor, input "Input247" [1,3,224,224], output [1,512,1,1]) of the
# NuGet package Microsoft.ML.DnnImageFeaturizer.ResNet18 at ./ResNet18.onnx (or the path given).
# Works on a fresh clone: restoring the test project downloads the package from nuget.org.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-ResNet18.onnx}"
dotnet restore tests/Api.Tests/Api.Tests.csproj >/dev/null
packages="${NUGET_PACKAGES:-$HOME/.nuget/packages}"
version=$(sed -n 's/.*"Microsoft.ML.DnnImageFeaturizer.ResNet18" Version="\([^"]*\)".*/\1/p' Directory.Packages.props)
src="$packages/microsoft.ml.dnnimagefeaturizer.resnet18/$version/tools/DnnImageModels/ResNet18Onnx/ResNet18.onnx"
if [ ! -f "$src" ]; then
  echo "ResNet18.onnx not found at $src" >&2
  exit 1
fi
cp "$src" "$out"
echo "$out ($(stat -c %s "$out") bytes)"
