using DSConvService.Core.Graph;
using DSConvService.Core.Imaging;
using DSConvService.Core.Tensors;

namespace DSConvService.Cli.Common;

/// <summary>Builds the tensors fed to a model: preprocessed images, or seeded random data of the input shape.</summary>
public static class ModelInputs
{
    /// <summary>Images (repeated in order to fill the batch) as the model's single input.</summary>
    public static Tensor[] FromImages(Model model, IReadOnlyList<string> paths, int? batch, PreprocessingOptions options)
    {
        var inputs = model.Graph.RuntimeInputs.ToArray();
        if (inputs.Length != 1)
        {
            throw new CliException($"the model has {inputs.Length} inputs; images can only feed a model with one image input.");
        }
        var n = batch ?? paths.Count;
        CheckBatch(inputs[0], n);
        var preprocessor = new ImagePreprocessor(options);
        var images = new List<Tensor>(n);
        var cache = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        for (var i = 0; i < n; i++)
        {
            var path = paths[i % paths.Count];
            if (!cache.TryGetValue(path, out var t))
            {
                if (!File.Exists(path))
                {
                    throw new CliException($"image file '{path}' does not exist.");
                }
                try
                {
                    cache[path] = t = preprocessor.Process(File.ReadAllBytes(path));
                }
                catch (InvalidImageException e)
                {
                    throw new CliException($"'{path}': {e.Message}");
                }
            }
            images.Add(t);
        }
        var stacked = ImagePreprocessor.Stack(images);
        CheckShape(inputs[0], stacked.Shape);
        return [stacked];
    }

    /// <summary>Uniform [-1, 1) data for every runtime input; unknown dimensions: batch first, image size for H and W, else 1.</summary>
    public static Tensor[] Random(Model model, int batch, int seed, PreprocessingOptions sizeHint)
    {
        var rng = new Random(seed);
        return model.Graph.RuntimeInputs.Select(input =>
        {
            if (input.Shape is null)
            {
                throw new CliException($"input '{input.Name}' declares no shape; give --image files instead.");
            }
            if (input.Type is not (DataType.Float or DataType.Undefined))
            {
                throw new CliException($"input '{input.Name}' is {input.Type}; only float inputs can be generated.");
            }
            CheckBatch(input, batch);
            var shape = input.Shape.Select((d, i) => d >= 0 ? d : i switch
            {
                0 => batch,
                2 when input.Shape.Length == 4 => sizeHint.Height,
                3 when input.Shape.Length == 4 => sizeHint.Width,
                _ => 1,
            }).ToArray();
            var data = new float[ShapeUtil.Size(shape)];
            for (var i = 0; i < data.Length; i++)
            {
                data[i] = (float)(rng.NextDouble() * 2 - 1);
            }
            return Tensor.FromFloats(shape, data);
        }).ToArray();
    }

    private static void CheckBatch(ValueInfo input, int batch)
    {
        if (batch <= 0)
        {
            throw new CliException("--batch must be at least 1.");
        }
        if (input.Shape is { Length: > 0 } s && s[0] >= 0 && s[0] != batch)
        {
            throw new CliException($"input '{input.Name}' has a fixed batch size of {s[0]}; batch {batch} cannot be fed.");
        }
    }

    private static void CheckShape(ValueInfo input, int[] shape)
    {
        if (input.Shape is not { } declared)
        {
            return;
        }
        if (declared.Length != shape.Length || declared.Zip(shape).Any(p => p.First >= 0 && p.First != p.Second))
        {
            throw new CliException($"the preprocessed images have shape {ShapeUtil.Format(shape)} but input '{input.Name}' is {ShapeUtil.FormatDims(declared)}; adjust --size / --color.");
        }
    }
}
