using DSConvService.Core.Errors;
using DSConvService.Core.Imaging;
using DSConvService.Worker.Jobs;
using Xunit;

namespace DSConvService.Worker.Tests.Jobs;

public sealed class OptionsResolverTests
{
    private static readonly PreprocessingOptions Gray28 = new()
    {
        Width = 28, Height = 28, ColorMode = ColorMode.Gray, Resize = ResizeMode.Stretch, Scale = 1f / 255, Mean = [0.1307f], Std = [0.3081f],
    };

    [Fact]
    public void A_target_is_kept_and_reaches_the_quantization_options()
    {
        var resolved = OptionsResolver.Resolve(OptionsResolver.Parse("""{"target":{"cosine":0.99}}"""), Gray28);
        Assert.Equal(0.99, resolved.Target!.Cosine);
        Assert.Null(resolved.Target.MinCompression);
        var options = OptionsResolver.ToQuantization(resolved);
        Assert.Equal(0.99, options.Target!.Cosine);
        Assert.Null(OptionsResolver.ToQuantization(OptionsResolver.Resolve(new QuantizeOptions(), Gray28)).Target);
        var e = Assert.Throws<InvalidOptionsException>(() =>
            OptionsResolver.Resolve(OptionsResolver.Parse("""{"target":{"cosine":-1,"minCompression":0}}"""), Gray28));
        Assert.Contains(e.Errors, m => m.StartsWith("target.cosine", StringComparison.Ordinal));
        Assert.Contains(e.Errors, m => m.StartsWith("target.minCompression", StringComparison.Ordinal));
    }

    [Fact]
    public void Missing_fields_take_the_defaults_and_the_models_preprocessing()
    {
        var resolved = OptionsResolver.Resolve(OptionsResolver.Parse("""{"blockSize":16}"""), Gray28);

        Assert.Equal(4, resolved.WeightBits);
        Assert.Equal(16, resolved.BlockSize);
        Assert.Equal(8, resolved.ActivationBits);
        Assert.Equal("l2", resolved.Kds);
        Assert.False(resolved.Adapt);
        Assert.Equal("gray", resolved.Preprocessing!.ColorMode);
        Assert.Equal("stretch", resolved.Preprocessing.Resize);
        Assert.Equal([0.1307f], resolved.Preprocessing.Mean!);
        var p = OptionsResolver.ToPreprocessing(resolved);
        Assert.Equal(28, p.Width);
        Assert.Equal(ColorMode.Gray, p.ColorMode);
    }

    [Theory]
    [InlineData("""{"weightBits":1}""", "weightBits")]
    [InlineData("""{"weightBits":9}""", "weightBits")]
    [InlineData("""{"blockSize":0}""", "blockSize")]
    [InlineData("""{"activationBits":1}""", "activationBits")]
    [InlineData("""{"kds":"l3"}""", "kds")]
    [InlineData("""{"preprocessing":{"width":0}}""", "preprocessing.width")]
    [InlineData("""{"preprocessing":{"resize":"squash"}}""", "preprocessing.resize")]
    [InlineData("""{"preprocessing":{"colorMode":"cmyk"}}""", "preprocessing.colorMode")]
    [InlineData("""{"preprocessing":{"scale":-1}}""", "preprocessing.scale")]
    [InlineData("""{"preprocessing":{"colorMode":"rgb","mean":[1,2]}}""", "preprocessing.mean")]
    [InlineData("""{"preprocessing":{"std":[0]}}""", "preprocessing.std")]
    public void Out_of_range_fields_are_named(string json, string field)
    {
        var e = Assert.Throws<InvalidOptionsException>(() => OptionsResolver.Resolve(OptionsResolver.Parse(json), Gray28));
        Assert.Contains(e.Errors, m => m.StartsWith(field, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("{")]
    [InlineData("""{"weightBits":"four"}""")]
    [InlineData("""{"weightBitz":4}""")]
    [InlineData("[1,2]")]
    public void Malformed_json_is_refused(string json)
    {
        var e = Assert.Throws<InvalidOptionsException>(() => OptionsResolver.Parse(json));
        Assert.Contains("not valid JSON", e.Message);
    }

    [Fact]
    public void Zero_activation_bits_mean_float_activations()
    {
        var resolved = OptionsResolver.Resolve(OptionsResolver.Parse("""{"activationBits":0,"kds":"kl","adapt":true}"""), Gray28);
        var q = OptionsResolver.ToQuantization(resolved);
        Assert.Equal(0, q.ActivationBits);
        Assert.Equal(DSConvService.Core.Quantization.KdsMethod.Kl, q.Kds);
        Assert.True(q.Adapt);
    }
}
