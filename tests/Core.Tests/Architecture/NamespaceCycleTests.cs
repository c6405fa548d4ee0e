using DSConvService.Core.Graph;
using Xunit;
using Xunit.Abstractions;

namespace DSConvService.Core.Tests.Architecture;

/// <summary>
/// Core's folders depend on each other one way (issue 12): no two folders below DSConvService.Core reach each
/// other through the types they use, counted from signatures and IL (see <see cref="TypeReferences"/>). A folder
/// is the first namespace segment below the root (Kernels.DSConv and Kernels.Gemm are both Kernels); a parent
/// namespace and its own sub-namespaces (Quantization and Quantization.Weights) are one concept and may use each other.
/// </summary>
public class NamespaceCycleTests(ITestOutputHelper output)
{
    private const string Root = "DSConvService.Core";

    [Fact]
    public void Core_Folders_Have_No_Cycles()
    {
        var graph = new NamespaceGraph(typeof(Model).Assembly, Folder);
        foreach (var line in graph.Edges())
        {
            output.WriteLine(line);
        }
        var cycles = graph.Cycles();
        Assert.True(cycles.Count == 0, "Namespace cycles in Core:\n" + string.Join("\n", cycles));
    }

    [Fact]
    public void The_Check_Sees_Calls_In_Lambdas_And_Signatures()
    {
        var graph = new NamespaceGraph(typeof(Model).Assembly, Folder);
        // CpuParallel.For is called only inside lambdas of the kernels; DSConvConv holds a DSConvEngine field.
        Assert.Contains(Root + ".Threading", graph.Uses(Root + ".Kernels"));
        Assert.Contains(Root + ".Kernels", graph.Uses(Root + ".Execution"));
        Assert.DoesNotContain(Root + ".Execution", graph.Uses(Root + ".Kernels"));
    }

    [Fact]
    public void The_Check_Finds_A_Cycle()
    {
        const string sample = "DSConvService.Core.Tests.Architecture.CycleSample";
        var graph = new NamespaceGraph(typeof(NamespaceCycleTests).Assembly, ns => ns.StartsWith(sample + ".", StringComparison.Ordinal) ? ns : null);
        var cycle = Assert.Single(graph.Cycles());
        Assert.StartsWith($"{sample}.A ↔ {sample}.B: ", cycle);
    }

    private static string? Folder(string ns)
    {
        if (ns != Root && !ns.StartsWith(Root + ".", StringComparison.Ordinal))
        {
            return null;
        }
        return ns == Root ? Root : Root + "." + ns[(Root.Length + 1)..].Split('.')[0];
    }
}
