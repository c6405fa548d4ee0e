// Two namespaces that use each other on purpose: NamespaceCycleTests checks that its cycle finder sees them.
namespace DSConvService.Core.Tests.Architecture.CycleSample.A
{
    internal static class First
    {
        public static int Call() => B.Second.Value + 1;
    }
}

namespace DSConvService.Core.Tests.Architecture.CycleSample.B
{
    internal static class Second
    {
        public static int Value => 1;

        public static int Back() => A.First.Call();
    }
}
