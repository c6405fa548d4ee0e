using DSConvService.Core.Graph;
using Google.Protobuf;
using Onnx;

namespace DSConvService.Core.Onnx.Structure;

/// <summary>
/// An ONNX file rewritten for ONNX Runtime with its large main-graph initializers as external data: the
/// payloads are streamed into one data file at offsets that are multiples of <see cref="Alignment"/>, and
/// the skeleton (graph, small initializers, headers of the large ones) is kept in memory and written as a
/// small .onnx file beside the data file when a session is to be opened. On Linux, ONNX Runtime maps an
/// external initializer at such an offset into memory instead of copying it into its heap.
/// Deletes every file it wrote on <see cref="Dispose"/>.
/// </summary>
public sealed class ExternalDataCopy : IDisposable
{
    /// <summary>The page size ONNX Runtime needs the offset to be a multiple of to map the data.</summary>
    public const int Alignment = 4096;

    private readonly ModelProto _skeleton;
    private readonly List<string> _files = [];
    private readonly string _prefix;
    private int _skeletons;

    private ExternalDataCopy(ModelProto skeleton, string prefix, string dataPath)
    {
        _skeleton = skeleton;
        _prefix = prefix;
        _files.Add(dataPath);
    }

    /// <summary>The skeleton's main graph (initializers in the data file have headers only).</summary>
    internal GraphProto? Graph => _skeleton.Graph;

    /// <summary>How many initializers are in the data file, and its size.</summary>
    public int ExternalTensors { get; private init; }
    public long DataBytes { get; private init; }

    /// <summary>
    /// Copies <paramref name="sourcePath"/>: the data file is <paramref name="pathPrefix"/> + "-weights.tmp", the
    /// skeletons <paramref name="pathPrefix"/> + "-model{n}.tmp" (same folder: the data file is named relative to them).
    /// Initializers larger than <paramref name="eagerBytes"/> whose elements are in raw_data or packed
    /// float_data / double_data go to the data file (the same little-endian bytes either way).
    /// </summary>
    public static ExternalDataCopy Write(string sourcePath, string pathPrefix, int eagerBytes = OnnxStructureReader.DefaultEagerBytes,
        CancellationToken ct = default)
    {
        Stream Open() => new FileStream(sourcePath, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
        var (proto, tensors) = OnnxStructureReader.Walk(Open, eagerBytes);
        var dataPath = pathPrefix + "-weights.tmp";
        var dataName = Path.GetFileName(dataPath);
        var count = 0;
        long size;
        try
        {
            using (var source = Open())
            using (var data = new FileStream(dataPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 1))
            {
                var buffer = new byte[1 << 20];
                foreach (var p in tensors)
                {
                    ct.ThrowIfCancellationRequested();
                    proto.Graph.Initializer.Add(p.IsWhole ? OnnxStructureReader.ParseWhole(Open, p)
                        : !p.IsDeferred ? p.Proto
                        : External(p, Append(source, data, p.DataOffset, p.DataLength, buffer), dataName));
                    count += p.IsDeferred ? 1 : 0;
                }
                size = data.Length;
            }
        }
        catch
        {
            File.Delete(dataPath);
            throw;
        }
        return new ExternalDataCopy(proto, pathPrefix, dataPath) { ExternalTensors = count, DataBytes = size };
    }

    /// <summary>
    /// Writes a skeleton beside the data file and returns its path (for <c>new InferenceSession(path)</c>);
    /// <paramref name="extraOutputs"/> become graph outputs too (float tensors), so ONNX Runtime returns those values.
    /// </summary>
    public string WriteSkeleton(IReadOnlyCollection<string>? extraOutputs = null)
    {
        var proto = _skeleton;
        if (extraOutputs is { Count: > 0 })
        {
            proto = _skeleton.Clone();
            AddOutputs(proto, extraOutputs);
        }
        var path = $"{_prefix}-model{Interlocked.Increment(ref _skeletons)}.tmp";
        lock (_files)
        {
            _files.Add(path);
        }
        using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None))
        {
            proto.WriteTo(file);
        }
        return path;
    }

    /// <summary>The skeleton with every initializer inline, as bytes (for a model small enough to open from memory).</summary>
    public static byte[] WithOutputs(byte[] model, IReadOnlyCollection<string> extraOutputs)
    {
        var proto = ModelProto.Parser.ParseFrom(model);
        AddOutputs(proto, extraOutputs);
        return proto.ToByteArray();
    }

    private static void AddOutputs(ModelProto proto, IReadOnlyCollection<string> names)
    {
        var existing = proto.Graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var name in names.Where(existing.Add))
        {
            proto.Graph.Output.Add(new ValueInfoProto
            {
                Name = name,
                Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float } },
            });
        }
    }

    private static long Append(Stream source, FileStream data, long offset, long length, byte[] buffer)
    {
        var start = (data.Position + Alignment - 1) / Alignment * Alignment;
        data.SetLength(start);
        data.Position = start;
        source.Position = offset;
        for (var left = length; left > 0;)
        {
            var read = source.Read(buffer, 0, (int)Math.Min(buffer.Length, left));
            if (read == 0)
            {
                throw new InvalidModelException("The model file is shorter than when it was checked.");
            }
            data.Write(buffer, 0, read);
            left -= read;
        }
        return start;
    }

    private static TensorProto External(OnnxStructureReader.PendingTensor p, long offset, string dataName)
    {
        var t = p.Proto.Clone();
        t.DataLocation = TensorProto.Types.DataLocation.External;
        t.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = dataName });
        t.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        t.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = p.DataLength.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        return t;
    }

    public void Dispose()
    {
        lock (_files)
        {
            foreach (var file in _files)
            {
                try
                {
                    File.Delete(file);
                }
                catch (IOException)
                {
                    // a session still open on Windows; the caller's temp sweep removes it
                }
            }
            _files.Clear();
        }
    }
}
