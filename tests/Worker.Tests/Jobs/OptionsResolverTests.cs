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

    [Fact]
    public void Layer_settings_are_merged_over_the_global_fields_and_reach_the_quantizer()
    {
        var resolved = OptionsResolver.Resolve(OptionsResolver.Parse(
            """{"weightBits":3,"blockSize":16,"activationBits":6,"scale":"max","biasCorrection":false,"layers":{"a":{"weightBits":8},"b":{"blockSize":64,"activationBits":0}}}"""), Gray28);
        Assert.Equal((8, 16, 6), (resolved.Layers!["a"].WeightBits, resolved.Layers["a"].BlockSize, resolved.Layers["a"].ActivationBits));
        Assert.Equal((3, 64, 0), (resolved.Layers["b"].WeightBits, resolved.Layers["b"].BlockSize, resolved.Layers["b"].ActivationBits));
        var q = OptionsResolver.ToQuantization(resolved);
        Assert.Equal(Core.Quantization.ScaleRule.Max, q.Scale);
        Assert.False(q.BiasCorrection);
        Assert.Equal(8, q.FormatFor("a").WeightBits);
        Assert.Equal(64, q.FormatFor("b").BlockSize);
        Assert.True(q.FormatFor("b").FloatActivations);
        Assert.Equal(q.Format, q.FormatFor("c"));

        var defaults = OptionsResolver.Resolve(OptionsResolver.Parse(null), Gray28);
        Assert.Equal(Core.Quantization.QuantizationOptions.DefaultScale, OptionsResolver.ToQuantization(defaults).Scale);
        Assert.Equal(Core.Quantization.QuantizationOptions.DefaultBiasCorrection, OptionsResolver.ToQuantization(defaults).BiasCorrection);
        Assert.Empty(defaults.Layers!);
        var adapted = OptionsResolver.Resolve(OptionsResolver.Parse("""{"adapt":true}"""), Gray28);
        Assert.Equal(Core.Quantization.ScaleRule.Max, OptionsResolver.ToQuantization(adapted).Scale);
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
    [InlineData("""{"scale":"absmax"}""", "scale")]
    [InlineData("""{"layers":{"conv1":{"weightBits":1}}}""", "layers.conv1.weightBits")]
    [InlineData("""{"layers":{"conv1":{"blockSize":300}}}""", "layers.conv1.blockSize")]
    [InlineData("""{"weightBits":9,"layers":{"conv1":{"weightBits":8}}}""", "weightBits")]
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
