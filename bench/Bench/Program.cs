namespace DSConvService.Bench;

/// <summary>Benchmarks against ONNX Runtime, one subcommand per suite (run on demand, never in CI).</summary>
public static class Program
{
    private static readonly Dictionary<string, (string Help, Func<string[], int> Run)> Commands = new(StringComparer.Ordinal)
    {
        ["batching"] = ("A batch run whole against image by image (each thread taking whole images), fp32 and DSConv, with ORT fp32 (--models a,b --batches 8 --runs N --threads T)", BatchingBench.Run),
        ["forkjoin"] = ("Bursts of short two-chunk loops with idle gaps: two threads against one, loops the caller ran alone (--work-us W --gap-us G; compare DSCONV_PIN_HELPERS=0)", ForkJoinBench.Run),
        ["pool"] = ("Max pooling on the suite's shapes: per-plane kernels against the channel-blocked one, 1 thread (--runs N)", PoolBench.Run),
        ["suite"] = ("Every model of the cross-architecture suite: ORT fp32, our fp32 executor, DSConv 4/8/32, ResNet18 vs ORT int8 (options: --runs N, --threads T, --batches 1,8, --models a,b)", SuiteBench.Run),
        ["profile"] = ("Time per node of one suite model, grouped by kind (--model NAME [--engine fp32|dsconv|both] [--batch B] [--runs N] [--threads T])", ProfileBench.Run),
        ["depthwise"] = ("The direct depthwise kernel on MobileNetV2 / EfficientNet shapes, 1 thread (--runs N)", DepthwiseBench.Run),
        ["fp32"] = ("ResNet18 fp32: our executor vs ONNX Runtime at batch 1 and 8 (options: --runs N, --threads T, --batches 1,8, --cpu)", Fp32Bench.Run),
        ["kernel"] = ("fp32 GEMM micro-kernels and driver, 1 thread, GFLOP per CPU-second", KernelBench.Run),
        ["layers"] = ("ResNet18 fp32: time per node of our executor (options: --runs N, --threads T, --batches B)", LayersBench.Run),
        ["overhead"] = ("Fixed costs of our executor on a small model, CPU time per node (--model file.onnx [--runs N] [--threads T]); `overhead pool`: MaxPool/AveragePool kernels", OverheadBench.Run),
        ["dsconv"] = ("DSConv integer engine: `dsconv` (quantized ResNet18 vs ORT fp32/int8), `dsconv layers` (ResNet18 conv shapes), `dsconv kernel` (micro-kernels), `dsconv profile` (time per node), `dsconv peak` (register-only ceilings), `dsconv sweep` (latency over bits × block)", DSConvBench.Run),
    };

    public static int Main(string[] args)
    {
        if (args.Length == 0 || !Commands.TryGetValue(args[0], out var command))
        {
            Console.Error.WriteLine("usage: dotnet run -c Release --project bench/Bench -- <suite> [options]");
            foreach (var (name, (help, _)) in Commands)
            {
                Console.Error.WriteLine($"  {name,-8} {help}");
            }
            return 1;
        }
        return command.Run(args[1..]);
    }
}
