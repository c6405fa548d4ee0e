using System.Globalization;
using System.IO.Compression;

namespace DSConvService.Core.Datasets;

/// <summary>
/// Reads image datasets from zip archives (DESIGN 5): evaluation sets in ImageFolder layout
/// (<c>&lt;class&gt;/&lt;file&gt;</c>) and calibration sets in any layout. Refuses path-traversal names,
/// too many entries and too much expanded data (counted while decompressing; sizes in headers are
/// not trusted). Files that are not named as PNG or JPEG are skipped; a file named so must start
/// with the PNG or JPEG signature and stay within the per-entry limit.
/// </summary>
public sealed class ZipDatasetReader(DatasetLimits limits)
{
    private static readonly string[] ImageExtensions = [".png", ".jpg", ".jpeg"];

    /// <summary>Reads a labelled ImageFolder set; class indices follow DESIGN 5.</summary>
    public (IReadOnlyList<DatasetImage> Images, DatasetSummary Summary) ReadEvaluation(
        string zipPath, IReadOnlyList<string>? labels, int maxImages, CancellationToken ct = default)
    {
        var entries = Read(zipPath, "evaluation", maxImages, ct);
        var classNames = entries.Select(e => ClassFolder(e.Name)).Distinct(StringComparer.Ordinal).ToList();
        var classes = AssignClassIndices(classNames, labels);
        var images = entries.Select(e => e with { ClassIndex = classes[ClassFolder(e.Name)] }).ToList();
        return (images, new DatasetSummary(images.Count, classes));
    }

    /// <summary>Reads an unlabelled set in any folder layout.</summary>
    public IReadOnlyList<DatasetImage> ReadCalibration(string zipPath, int maxImages, CancellationToken ct = default) =>
        Read(zipPath, "calibration", maxImages, ct);

    /// <summary>Checks a whole zip against the limits and layout rules without keeping the images.</summary>
    public DatasetSummary Validate(string zipPath, bool imageFolder, IReadOnlyList<string>? labels, CancellationToken ct = default)
    {
        var names = new List<string>();
        Scan(zipPath, imageFolder ? "evaluation" : "calibration", int.MaxValue, keep: false, (name, _) => names.Add(name), ct);
        if (!imageFolder)
        {
            return new DatasetSummary(names.Count, new Dictionary<string, int>());
        }
        var classes = AssignClassIndices(names.Select(ClassFolder).Distinct(StringComparer.Ordinal).ToList(), labels);
        return new DatasetSummary(names.Count, classes);
    }

    private List<DatasetImage> Read(string zipPath, string what, int maxImages, CancellationToken ct)
    {
        var images = new List<DatasetImage>();
        Scan(zipPath, what, maxImages, keep: true, (name, bytes) => images.Add(new DatasetImage(name, bytes!, -1)), ct);
        return images;
    }

    private void Scan(string zipPath, string what, int maxImages, bool keep, Action<string, byte[]?> onImage, CancellationToken ct)
    {
        ZipArchive archive;
        try
        {
            archive = ZipFile.OpenRead(zipPath);
        }
        catch (InvalidDataException e)
        {
            throw new DatasetException($"The {what} file is not a valid zip archive ({e.Message}).");
        }
        using (archive)
        {
            IReadOnlyList<ZipArchiveEntry> entries;
            try
            {
                entries = archive.Entries;
            }
            catch (InvalidDataException e)
            {
                throw new DatasetException($"The {what} zip's directory cannot be read ({e.Message}).");
            }
            if (entries.Count > limits.MaxZipEntries)
            {
                throw new DatasetException($"The {what} zip has {entries.Count} entries; the limit is {limits.MaxZipEntries}.");
            }
            var ordered = entries.OrderBy(e => e.FullName, StringComparer.Ordinal).ToList();
            foreach (var entry in ordered)
            {
                CheckName(entry.FullName, what);
            }

            long expanded = 0;
            var count = 0;
            foreach (var entry in ordered)
            {
                ct.ThrowIfCancellationRequested();
                if (count >= maxImages)
                {
                    break;
                }
                var name = entry.FullName.Replace('\\', '/');
                if (!IsImage(name))
                {
                    continue;
                }
                var budget = limits.MaxZipExpandedBytes - expanded;
                var bytes = Decompress(entry, budget, what, keep, out var length);
                expanded += length;
                count++;
                onImage(name, bytes);
            }
            if (count == 0)
            {
                throw new DatasetException($"The {what} zip contains no PNG or JPEG images.");
            }
        }
    }

    private byte[]? Decompress(ZipArchiveEntry entry, long budget, string what, bool keep, out long length)
    {
        var tooLarge = $"The {what} zip expands to more than the limit of {limits.MaxZipExpandedBytes} bytes (entry '{entry.FullName}'); " +
                       "it may be a zip bomb. Send a smaller archive.";
        var entryTooLarge = $"Entry '{entry.FullName}' of the {what} zip expands to more than the limit of {limits.MaxEntryBytes} bytes per image; " +
                            "send smaller images.";
        if (entry.Length > budget)
        {
            throw new DatasetException(tooLarge);
        }
        if (entry.Length > limits.MaxEntryBytes)
        {
            throw new DatasetException(entryTooLarge);
        }
        Span<byte> head = stackalloc byte[8];
        var headLength = 0;
        using var source = OpenEntry(entry, what);
        using var buffer = keep ? new MemoryStream() : null;
        var chunk = new byte[81920];
        length = 0;
        try
        {
            int read;
            while ((read = source.Read(chunk, 0, chunk.Length)) > 0)
            {
                var copy = Math.Min(read, head.Length - headLength);
                chunk.AsSpan(0, copy).CopyTo(head[headLength..]);
                headLength += copy;
                length += read;
                if (length > budget)
                {
                    throw new DatasetException(tooLarge);
                }
                if (length > limits.MaxEntryBytes)
                {
                    throw new DatasetException(entryTooLarge);
                }
                buffer?.Write(chunk, 0, read);
            }
        }
        catch (InvalidDataException e)
        {
            throw new DatasetException($"Entry '{entry.FullName}' of the {what} zip is corrupt ({e.Message}).");
        }
        if (!HasImageSignature(head[..headLength]))
        {
            throw new DatasetException($"Entry '{entry.FullName}' of the {what} zip is named as an image but is not a PNG or JPEG file " +
                                       "(its first bytes are no image signature).");
        }
        return buffer?.ToArray();
    }

    private static ReadOnlySpan<byte> PngSignature => [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>PNG's 8-byte signature, or JPEG's start-of-image marker followed by a marker byte.</summary>
    internal static bool HasImageSignature(ReadOnlySpan<byte> head) =>
        head.StartsWith(PngSignature) || (head.Length >= 3 && head[0] == 0xFF && head[1] == 0xD8 && head[2] == 0xFF);

    private static Stream OpenEntry(ZipArchiveEntry entry, string what)
    {
        try
        {
            return entry.Open();
        }
        catch (Exception e) when (e is InvalidDataException or NotSupportedException)
        {
            throw new DatasetException($"Entry '{entry.FullName}' of the {what} zip cannot be opened ({e.Message}).");
        }
    }

    /// <summary>Refuses names that could escape a folder if extracted: absolute paths, drive letters, '..' segments.</summary>
    private static void CheckName(string fullName, string what)
    {
        var name = fullName.Replace('\\', '/');
        var bad = name.StartsWith('/') || name.Contains(':') || name.Contains('\0') ||
                  name.Split('/').Any(part => part == "..");
        if (bad)
        {
            throw new DatasetException($"The {what} zip contains an unsafe entry name '{fullName}' (absolute path or '..'); such archives are refused.");
        }
    }

    private static bool IsImage(string name)
    {
        if (name.EndsWith('/') || name.StartsWith("__MACOSX/", StringComparison.Ordinal))
        {
            return false;
        }
        var file = name[(name.LastIndexOf('/') + 1)..];
        return !file.StartsWith('.') && ImageExtensions.Contains(Path.GetExtension(file).ToLowerInvariant());
    }

    private static string ClassFolder(string name)
    {
        var slash = name.LastIndexOf('/');
        if (slash <= 0)
        {
            throw new DatasetException($"The evaluation zip must use the ImageFolder layout <class>/<file>, but '{name}' is not inside a class folder.");
        }
        var parent = name[..slash];
        return parent[(parent.LastIndexOf('/') + 1)..];
    }

    /// <summary>
    /// DESIGN 5: the integer value when every folder name is an integer, else the line number in
    /// labels, else the folder's position in sorted order.
    /// </summary>
    internal static Dictionary<string, int> AssignClassIndices(IReadOnlyList<string> folders, IReadOnlyList<string>? labels)
    {
        if (folders.All(f => int.TryParse(f, NumberStyles.None, CultureInfo.InvariantCulture, out _)))
        {
            return folders.ToDictionary(f => f, f => int.Parse(f, CultureInfo.InvariantCulture), StringComparer.Ordinal);
        }
        if (labels is { Count: > 0 })
        {
            var map = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var folder in folders)
            {
                var index = -1;
                for (var i = 0; i < labels.Count && index < 0; i++)
                {
                    if (string.Equals(labels[i], folder, StringComparison.OrdinalIgnoreCase))
                    {
                        index = i;
                    }
                }
                if (index < 0)
                {
                    throw new DatasetException($"Evaluation class folder '{folder}' is not a line of the labels file; name folders after labels or use class numbers.");
                }
                map[folder] = index;
            }
            return map;
        }
        return folders.Order(StringComparer.Ordinal).Select((f, i) => (f, i)).ToDictionary(p => p.f, p => p.i, StringComparer.Ordinal);
    }
}
