using System.CommandLine;
using DSConvService.Core.Format;
using DSConvService.Core.Quantization;

namespace DSConvService.Cli.Common;

/// <summary>The quantization options shared by `dsconv quantize` and `dsconv plan` (number format, per-layer settings, scale rule, bias correction, KDS, target).</summary>
public sealed class QuantizationArguments
{
    private readonly Option<int> _bits = new("--bits") { Description = "Weight bits (VQK), 2..8.", DefaultValueFactory = _ => DSConvSettings.DefaultWeightBits };
    private readonly Option<int> _block = new("--block") { Description = "Block size B (channels per block), 1..256.", DefaultValueFactory = _ => DSConvSettings.DefaultBlockSize };
    private readonly Option<int> _activationBits = new("--activation-bits") { Description = "BFP mantissa bits, 2..8; 0 = float activations (weight-only).", DefaultValueFactory = _ => DSConvSettings.DefaultActivationBits };
    private readonly Option<string> _kds = new("--kds") { Description = "KDS fit: l2 (least squares) | kl.", DefaultValueFactory = _ => "l2" };
    private readonly Option<string?> _scale = new("--scale") { Description = "VQK scale rule: max (largest magnitude, the paper's) | mse (clip searched per block). Default: mse, max with --adapt (measured better each way)." };
    private readonly Option<bool> _biasCorrection = new("--bias-correction") { Description = "Correct biases from the fp32 model's BatchNorm statistics (data-free, DESIGN 2.5)." };
    private readonly Option<bool> _noBiasCorrection = new("--no-bias-correction") { Description = "Do not correct biases from BatchNorm statistics." };
    private readonly Option<string[]> _layer = new("--layer") { Description = "Per-layer precision NAME=BITS[/BLOCK] (repeatable; NAME as the report's layers table shows it).", Arity = ArgumentArity.ZeroOrMore };
    private readonly Option<bool> _kdsBias = new("--kds-bias") { Description = "Fit a bias per KDS block." };
    private readonly Option<bool> _cds = new("--cds") { Description = "Fit a channel distribution shifter (scale and bias per output channel)." };
    private readonly Option<bool> _noFc = new("--no-fc") { Description = "Leave fully connected layers (Gemm / MatMul) in float." };
    private readonly Option<double?> _targetCosine = new("--target-cosine") { Description = "Target mean cosine against fp32 in (0, 1]: weight bits and block per layer are chosen to meet it with the smallest file." };
    private readonly Option<double?> _minCompression = new("--min-compression") { Description = "Target: the artifact at least this many times smaller than the fp32 file (≥ 1); alone, the best cosine within that size." };

    public QuantizationArguments()
    {
        _kds.AcceptOnlyFromAmong("l2", "kl");
        _scale.AcceptOnlyFromAmong(ScaleRuleNames.Max, ScaleRuleNames.Mse);
    }

    public void AddTo(Command command)
    {
        foreach (var o in new Option[] { _bits, _block, _activationBits, _kds, _scale, _biasCorrection, _noBiasCorrection, _layer, _kdsBias, _cds, _noFc, _targetCosine, _minCompression })
        {
            command.Options.Add(o);
        }
    }

    /// <summary>The options as given; bad values throw <see cref="CliException"/> named by their command-line spelling.</summary>
    public QuantizationOptions Resolve(ParseResult parse, bool adapt)
    {
        if (parse.GetValue(_biasCorrection) && parse.GetValue(_noBiasCorrection))
        {
            throw new CliException("--bias-correction and --no-bias-correction cannot be combined.");
        }
        var global = new DSConvSettings
        {
            WeightBits = parse.GetValue(_bits),
            BlockSize = parse.GetValue(_block),
            ActivationBits = parse.GetValue(_activationBits),
        };
        var options = new QuantizationOptions
        {
            Format = global,
            Layers = LayerArguments.Parse(parse.GetValue(_layer) ?? [], global),
            Scale = ScaleRuleNames.Parse(parse.GetValue(_scale)) ?? QuantizationOptions.DefaultScaleFor(adapt),
            BiasCorrection = parse.GetValue(_biasCorrection) || (!parse.GetValue(_noBiasCorrection) && QuantizationOptions.DefaultBiasCorrection),
            Kds = parse.GetValue(_kds) == "kl" ? KdsMethod.Kl : KdsMethod.L2,
            KdsBias = parse.GetValue(_kdsBias),
            Cds = parse.GetValue(_cds),
            QuantizeFullyConnected = !parse.GetValue(_noFc),
            Adapt = adapt,
            Target = Target(parse.GetValue(_targetCosine), parse.GetValue(_minCompression)),
        };
        // The ranges are DSConvSettings' and QuantizationTarget's; only the names are the command line's.
        if (options.Format.Errors(CliName) is [var first, ..])
        {
            throw new CliException(first);
        }
        foreach (var (name, settings) in options.Layers)
        {
            if (settings.Errors(f => $"--layer {name}: {CliName(f)}") is [var error, ..])
            {
                throw new CliException(error);
            }
        }
        if (options.Target?.Errors(CliName) is [var targetError, ..])
        {
            throw new CliException(targetError);
        }
        if (options.Target is not null && options.Layers.Count > 0)
        {
            throw new CliException("--layer cannot be combined with --target-cosine / --min-compression: the target chooses every layer's bits and block.");
        }
        return options;
    }

    private static QuantizationTarget? Target(double? cosine, double? minCompression) =>
        cosine is null && minCompression is null ? null : new QuantizationTarget { Cosine = cosine, MinCompression = minCompression };

    private static string CliName(string setting) => setting switch
    {
        "weightBits" => "--bits",
        "blockSize" => "--block",
        "activationBits" => "--activation-bits",
        "cosine" => "--target-cosine",
        "minCompression" => "--min-compression",
        _ => "--" + setting,
    };
}
