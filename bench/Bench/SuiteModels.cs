using DSConvService.Core.Graph;
using DSConvService.Core.Onnx;
using DSConvService.Core.Passes;
using DSConvService.Core.Tensors;

namespace DSConvService.Bench;

/// <summary>
/// The models of the cross-architecture suite: the torchvision exports of ../shared/data/models/architectures,
/// the NuGet ResNet18 and the two MNIST nets, each with a symbolic batch dimension.
/// </summary>
public static class SuiteModels
{
    public static string DataRoot => Environment.GetEnvironmentVariable("DSCONV_SHARED_DATA") ?? "/work/shared/data";

    public static string Int8ResNet18Path => System.IO.Path.Combine(DataRoot, "models", "resnet18_int8_qdq.onnx");

    public sealed record Entry(string Name, Model Model, float InputScale, float InputOffset)
    {
        public int[] InputShape(int batch)
        {
            var declared = Model.Graph.RuntimeInputs.First().Shape!;
            return declared.Select((d, i) => i == 0 ? batch : d).ToArray();
        }

        /// <summary>Seeded uniform data in [offset, offset + scale).</summary>
        public Tensor Input(int batch)
        {
            var shape = InputShape(batch);
            var rng = new Random(batch);
            var data = new float[ShapeUtil.Size(shape)];
            for (var i = 0; i < data.Length; i++)
            {
                data[i] = (float)(rng.NextDouble() * InputScale + InputOffset);
            }
            return Tensor.FromFloats(shape, data);
        }
    }

    /// <summary>All models found, in suite order; <paramref name="only"/> (names) filters them.</summary>
    public static List<Entry> Load(IReadOnlyCollection<string>? only = null)
    {
        var list = new List<Entry>();
        bool Wanted(string name) => only is null || only.Count == 0 || only.Contains(name);
        var arch = System.IO.Path.Combine(DataRoot, "models", "architectures");
        if (Directory.Exists(arch))
        {
            foreach (var file in Directory.GetFiles(arch, "*.onnx").Order(StringComparer.Ordinal))
            {
                var name = System.IO.Path.GetFileNameWithoutExtension(file);
                if (Wanted(name))
                {
                    list.Add(new Entry(name, SymbolicBatch.Apply(OnnxReader.Load(file)), 2f, -1f));
                }
            }
        }
        if (Wanted("resnet18") && File.Exists(ResNet18Model.Path))
        {
            // Pixel values 0..255 minus the channel means, as the package's preprocessing gives.
            list.Add(new Entry("resnet18", ResNet18Model.WithSymbolicBatch(), 255f, -120f));
        }
        foreach (var mnist in new[] { "lenet_bn", "resnet_mini" })
        {
            var file = System.IO.Path.Combine(DataRoot, "models", mnist + ".onnx");
            if (Wanted(mnist) && File.Exists(file))
            {
                list.Add(new Entry(mnist, SymbolicBatch.Apply(OnnxReader.Load(file)), 3f, -0.5f));
            }
        }
        return list;
    }

    /// <summary>The CPU model line of /proc/cpuinfo, with family and model numbers.</summary>
    public static string CpuModel()
    {
        try
        {
            var lines = File.ReadAllLines("/proc/cpuinfo");
            string Field(string key) => lines.FirstOrDefault(l => l.StartsWith(key, StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "?";
            return $"{Field("model name")} (family {Field("cpu family")}, model {Field("model\t")}), {Environment.ProcessorCount} logical CPUs";
        }
        catch (IOException)
        {
            return $"unknown CPU, {Environment.ProcessorCount} logical CPUs";
        }
    }

    public static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (IOException)
        {
            return "?";
        }
    }
}
