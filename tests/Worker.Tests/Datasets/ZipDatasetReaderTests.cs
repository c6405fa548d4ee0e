using DSConvService.Core.Datasets;
using DSConvService.TestSupport;
using DSConvService.Worker.Tests.Support;
using Xunit;

namespace DSConvService.Worker.Tests.Datasets;

public sealed class ZipDatasetReaderTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly byte[] _png = Zips.Png(4, 4, 100);

    public void Dispose() => _dir.Dispose();

    private static ZipDatasetReader Reader(int entries = 1000, long expanded = 10_000_000) =>
        new(new DatasetLimits(entries, expanded));

    [Fact]
    public void Integer_folders_give_their_value_as_class_index()
    {
        var zip = _dir.File("eval.zip");
        Zips.Write(zip, ("3/a.png", _png), ("10/b.png", _png), ("10/c.png", _png));

        var (images, summary) = Reader().ReadEvaluation(zip, labels: null, maxImages: 100);

        Assert.Equal([10, 10, 3], images.Select(i => i.ClassIndex));
        Assert.Equal(3, summary.Images);
        Assert.Equal(10, summary.Classes["10"]);
    }

    [Fact]
    public void Named_folders_follow_the_labels_file_else_sorted_order()
    {
        var zip = _dir.File("eval.zip");
        Zips.Write(zip, ("cat/a.png", _png), ("dog/b.png", _png), ("ant/c.png", _png));

        var (withLabels, _) = Reader().ReadEvaluation(zip, ["dog", "ant", "cat", "emu"], 100);
        var (sorted, _) = Reader().ReadEvaluation(zip, null, 100);

        Assert.Equal(new Dictionary<string, int> { ["ant/c.png"] = 1, ["cat/a.png"] = 2, ["dog/b.png"] = 0 },
            withLabels.ToDictionary(i => i.Name, i => i.ClassIndex));
        Assert.Equal(new Dictionary<string, int> { ["ant/c.png"] = 0, ["cat/a.png"] = 1, ["dog/b.png"] = 2 },
            sorted.ToDictionary(i => i.Name, i => i.ClassIndex));
    }

    [Fact]
    public void A_folder_missing_from_the_labels_is_named()
    {
        var zip = _dir.File("eval.zip");
        Zips.Write(zip, ("cat/a.png", _png), ("yak/b.png", _png));

        var e = Assert.Throws<DatasetException>(() => Reader().ReadEvaluation(zip, ["cat", "dog"], 100));
        Assert.Contains("'yak'", e.Message);
    }

    [Fact]
    public void Non_image_files_are_skipped_and_any_layout_is_fine_for_calibration()
    {
        var zip = _dir.File("calib.zip");
        Zips.Write(zip, ("readme.txt", "hello"u8.ToArray()), ("x/y/z/a.PNG", _png), ("b.jpg", _png), ("__MACOSX/._b.jpg", _png), ("x/.hidden.png", _png));

        var images = Reader().ReadCalibration(zip, 100);

        Assert.Equal(["b.jpg", "x/y/z/a.PNG"], images.Select(i => i.Name));
        Assert.Equal(_png, images[0].Bytes);
    }

    [Theory]
    [InlineData("../evil.png")]
    [InlineData("a/../../evil.png")]
    [InlineData("/etc/evil.png")]
    [InlineData("C:/evil.png")]
    [InlineData("a\\..\\..\\evil.png")]
    public void Path_traversal_names_are_refused(string name)
    {
        var zip = _dir.File("bad.zip");
        Zips.Write(zip, ("ok/a.png", _png), (name, _png));

        var e = Assert.Throws<DatasetException>(() => Reader().Validate(zip, imageFolder: false, labels: null));
        Assert.Contains("unsafe entry name", e.Message);
    }

    [Fact]
    public void Too_many_entries_are_refused()
    {
        var zip = _dir.File("many.zip");
        Zips.Write(zip, Enumerable.Range(0, 11).Select(i => ($"0/{i}.png", _png)).ToArray());

        var e = Assert.Throws<DatasetException>(() => Reader(entries: 10).Validate(zip, true, null));
        Assert.Contains("11 entries", e.Message);
    }

    [Theory]
    [InlineData(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, 1, 2 }, true)]
    [InlineData(new byte[] { 0xFF, 0xD8, 0xFF, 0xE0, 0, 0 }, true)]
    [InlineData(new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A }, false)]
    [InlineData(new byte[] { 0x47, 0x49, 0x46, 0x38, 0x39, 0x61 }, false)]
    [InlineData(new byte[0], false)]
    public void Entries_named_as_images_must_start_with_an_image_signature(byte[] content, bool accepted)
    {
        var zip = _dir.File("sniff.zip");
        Zips.Write(zip, ("0/x.png", content));
        if (accepted)
        {
            Assert.Equal(1, Reader().Validate(zip, true, null).Images);
        }
        else
        {
            var e = Assert.Throws<DatasetException>(() => Reader().Validate(zip, true, null));
            Assert.Contains("'0/x.png'", e.Message);
            Assert.Contains("not a PNG or JPEG", e.Message);
        }
    }

    [Fact]
    public void An_entry_over_the_per_image_limit_is_refused()
    {
        var zip = _dir.File("big.zip");
        Zips.Write(zip, ("0/ok.png", _png), ("1/big.png", _png.Concat(new byte[50_000]).ToArray()));

        var e = Assert.Throws<DatasetException>(() => new ZipDatasetReader(new DatasetLimits(1000, 10_000_000, MaxEntryBytes: 10_000)).Validate(zip, true, null));
        Assert.Contains("'1/big.png'", e.Message);
        Assert.Contains("10000 bytes per image", e.Message);
    }

    [Fact]
    public void A_zip_bomb_is_stopped_by_counting_decompressed_bytes()
    {
        var zip = _dir.File("bomb.zip");
        Zips.Write(zip, ("0/a.png", new byte[5_000_000]));
        Assert.True(new FileInfo(zip).Length < 100_000);

        var e = Assert.Throws<DatasetException>(() => Reader(expanded: 1_000_000).Validate(zip, true, null));
        Assert.Contains("zip bomb", e.Message);
    }

    [Fact]
    public void A_header_that_understates_the_size_does_not_fool_the_limit()
    {
        var zip = _dir.File("liar.zip");
        // A PNG signature and then 3 MB of zeros, declared as 100 bytes. .NET's zip reader stops at the declared size,
        // so exactly those 100 bytes come out (the reader's own count while decompressing is the second guard).
        var data = new byte[3_000_000];
        new byte[] { 0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A }.CopyTo(data, 0);
        Zips.Write(zip, ("0/a.png", data));
        LieAboutUncompressedSize(zip, 100);

        var image = Assert.Single(Reader(expanded: 1_000_000).ReadCalibration(zip, 100));
        Assert.Equal(data[..100], image.Bytes);
    }

    [Fact]
    public void A_file_that_is_not_a_zip_is_refused_with_a_clear_message()
    {
        var path = _dir.File("no.zip");
        File.WriteAllText(path, "not a zip");

        var e = Assert.Throws<DatasetException>(() => Reader().Validate(path, false, null));
        Assert.Contains("not a valid zip", e.Message);
    }

    [Fact]
    public void An_evaluation_image_outside_a_class_folder_is_refused()
    {
        var zip = _dir.File("flat.zip");
        Zips.Write(zip, ("a.png", _png));

        var e = Assert.Throws<DatasetException>(() => Reader().Validate(zip, true, null));
        Assert.Contains("ImageFolder", e.Message);
    }

    /// <summary>Rewrites the uncompressed-size fields (local header and central directory) of the only entry.</summary>
    private static void LieAboutUncompressedSize(string path, uint size)
    {
        var bytes = File.ReadAllBytes(path);
        for (var i = 0; i + 4 <= bytes.Length; i++)
        {
            if (bytes[i] == 0x50 && bytes[i + 1] == 0x4b && bytes[i + 2] == 0x03 && bytes[i + 3] == 0x04)
            {
                BitConverter.TryWriteBytes(bytes.AsSpan(i + 22, 4), size);
            }
            else if (bytes[i] == 0x50 && bytes[i + 1] == 0x4b && bytes[i + 2] == 0x01 && bytes[i + 3] == 0x02)
            {
                BitConverter.TryWriteBytes(bytes.AsSpan(i + 24, 4), size);
            }
        }
        File.WriteAllBytes(path, bytes);
    }
}
