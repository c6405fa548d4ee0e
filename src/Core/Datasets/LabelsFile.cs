namespace DSConvService.Core.Datasets;

/// <summary>The labels upload: one class name per line, in model output order.</summary>
public static class LabelsFile
{
    public static string[] Read(string path)
    {
        var lines = File.ReadAllLines(path).Select(l => l.Trim()).ToList();
        while (lines.Count > 0 && lines[^1].Length == 0)
        {
            lines.RemoveAt(lines.Count - 1);
        }
        return lines.ToArray();
    }
}
