using DSConvService.Core.Datasets;
using DSConvService.Core.Imaging;
using DSConvService.Core.Tensors;

namespace DSConvService.Cli.Common;

/// <summary>Preprocessed image sets for the quantize command: a zip (Core's dataset reader, with its limits) or a folder of images.</summary>
public static class ImageSets
{
    private static readonly string[] ImageExtensions = [".png", ".jpg", ".jpeg"];

    /// <summary>Unlabelled images from a zip (any layout) or a folder (recursively, sorted by path); at most <paramref name="max"/>.</summary>
    public static List<Tensor> Unlabelled(string path, string option, PreprocessingOptions preprocessing, int max)
    {
        IReadOnlyList<DatasetImage> images;
        if (Directory.Exists(path))
        {
            images = Folder(path, option, max);
        }
        else
        {
            images = Guarded(path, option, () => new ZipDatasetReader(DatasetLimits.Default).ReadCalibration(path, max));
        }
        return Decode(images, option, preprocessing);
    }

    /// <summary>A labelled ImageFolder zip (<c>&lt;class&gt;/&lt;file&gt;</c>); class indices follow DESIGN 5.</summary>
    public static (List<Tensor> Inputs, int[] Labels) Labelled(string path, string option, IReadOnlyList<string>? labels,
        PreprocessingOptions preprocessing, int max)
    {
        var (images, _) = Guarded(path, option, () => new ZipDatasetReader(DatasetLimits.Default).ReadEvaluation(path, labels, max));
        return (Decode(images, option, preprocessing), images.Select(i => i.ClassIndex).ToArray());
    }

    private static T Guarded<T>(string path, string option, Func<T> read)
    {
        if (!File.Exists(path))
        {
            throw new CliException($"{option} '{path}' does not exist.");
        }
        try
        {
            return read();
        }
        catch (DatasetException e)
        {
            throw new CliException($"{option} '{path}': {e.Message}");
        }
    }

    private static List<DatasetImage> Folder(string path, string option, int max)
    {
        var files = Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories)
            .Where(f => ImageExtensions.Contains(Path.GetExtension(f).ToLowerInvariant()) && !Path.GetFileName(f).StartsWith('.'))
            .Order(StringComparer.Ordinal)
            .Take(max)
            .Select(f => new DatasetImage(Path.GetRelativePath(path, f), File.ReadAllBytes(f), -1))
            .ToList();
        return files.Count > 0 ? files : throw new CliException($"{option} folder '{path}' contains no PNG or JPEG images.");
    }

    private static List<Tensor> Decode(IReadOnlyList<DatasetImage> images, string option, PreprocessingOptions preprocessing)
    {
        var preprocessor = new ImagePreprocessor(preprocessing);
        var tensors = new List<Tensor>(images.Count);
        foreach (var image in images)
        {
            try
            {
                tensors.Add(preprocessor.Process(image.Bytes));
            }
            catch (InvalidImageException e)
            {
                throw new CliException($"{option}: image '{image.Name}': {e.Message}");
            }
        }
        return tensors;
    }
}
