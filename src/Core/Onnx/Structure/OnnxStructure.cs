using DSConvService.Core.Graph;
using DSConvService.Core.Tensors;

namespace DSConvService.Core.Onnx.Structure;

/// <summary>A model read by <see cref="OnnxStructureReader"/>, with where its deferred initializers are.</summary>
public sealed record OnnxStructure(Model Model, IReadOnlyList<InitializerLocation> Deferred);

/// <summary>
/// A main-graph initializer left in the file: the payload of its TensorProto field <see cref="Field"/>
/// (raw_data, float_data or double_data) is <see cref="Length"/> bytes from <see cref="Offset"/>.
/// </summary>
public sealed record InitializerLocation(string Name, DataType Type, int[] Shape, long Offset, long Length, string Field);
