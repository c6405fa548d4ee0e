using System.Reflection;
using DSConvService.Core.Graph;

namespace DSConvService.Core.Execution;

/// <summary>Finds the <see cref="Operator"/> class for a node, from the [OnnxOp] attributes in this assembly.</summary>
public static class OperatorRegistry
{
    private static readonly Dictionary<(string Domain, string Op), Func<Node, OperatorContext, Operator>> Factories = Discover();

    public static IEnumerable<string> SupportedOps(string domain = "") =>
        Factories.Keys.Where(k => k.Domain == domain).Select(k => k.Op).Order(StringComparer.Ordinal);

    public static bool IsSupported(Node node) => Factories.ContainsKey((NormalizeDomain(node.Domain), node.OpType));

    public static Operator Create(Node node, OperatorContext context)
    {
        if (!Factories.TryGetValue((NormalizeDomain(node.Domain), node.OpType), out var factory))
        {
            throw new UnsupportedOperatorException(
                string.IsNullOrEmpty(node.Domain) ? node.OpType : $"{node.Domain}.{node.OpType}", node.DisplayName);
        }
        return factory(node, context);
    }

    /// <summary>Names every unsupported operator of a graph (empty when all are supported).</summary>
    public static IReadOnlyList<string> FindUnsupported(Graph.Graph graph) =>
        graph.Nodes.Where(n => !IsSupported(n))
            .Select(n => string.IsNullOrEmpty(n.Domain) ? n.OpType : $"{n.Domain}.{n.OpType}")
            .Distinct()
            .ToList();

    private static string NormalizeDomain(string domain) => domain == "ai.onnx" ? "" : domain;

    private static Dictionary<(string, string), Func<Node, OperatorContext, Operator>> Discover()
    {
        var map = new Dictionary<(string, string), Func<Node, OperatorContext, Operator>>();
        foreach (var type in typeof(Operator).Assembly.GetTypes())
        {
            if (type.IsAbstract || !typeof(Operator).IsAssignableFrom(type) || type.GetCustomAttribute<OnnxOpAttribute>() is not { } attr)
            {
                continue;
            }
            var ctor = type.GetConstructor([typeof(Node), typeof(OperatorContext)])
                ?? throw new InvalidOperationException($"{type.Name} needs a constructor (Node, OperatorContext).");
            foreach (var op in attr.OpTypes)
            {
                map.Add((attr.Domain, op), (n, c) =>
                {
                    try
                    {
                        return (Operator)ctor.Invoke([n, c]);
                    }
                    catch (TargetInvocationException e) when (e.InnerException is not null)
                    {
                        System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException).Throw();
                        throw;
                    }
                });
            }
        }
        return map;
    }
}
