namespace DSConvService.Bench;

/// <summary>Options shared by the suites: --runs N (timed runs, at least 20), --warmup N, --threads T, --batches 1,8.</summary>
public sealed record BenchOptions(int Runs, int Warmup, int Threads, int[] Batches)
{
    public static BenchOptions Parse(string[] args)
    {
        var o = new BenchOptions(Runs: 30, Warmup: 5, Threads: 2, Batches: [1, 8]);
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            var v = args[i + 1];
            o = args[i] switch
            {
                "--runs" => o with { Runs = Math.Max(20, int.Parse(v)) },
                "--warmup" => o with { Warmup = int.Parse(v) },
                "--threads" => o with { Threads = int.Parse(v) },
                "--batches" => o with { Batches = v.Split(',').Select(int.Parse).ToArray() },
                _ => throw new ArgumentException($"Unknown option {args[i]}."),
            };
        }
        return o;
    }
}
