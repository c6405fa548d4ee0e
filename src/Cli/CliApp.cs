using System.CommandLine;
using DSConvService.Cli.Commands;
using DSConvService.Cli.Common;

namespace DSConvService.Cli;

/// <summary>The dsconv command line: the command table, and one entry point tests can call in-process.</summary>
public static class CliApp
{
    public static RootCommand Build(CliConsole console)
    {
        var root = new RootCommand("dsconv: run ONNX CNNs on the DSConvService engine and compare them with ONNX Runtime.");
        // One line per command; each command lives in its own file under Commands/.
        root.Subcommands.Add(RunCommand.Create(console));
        root.Subcommands.Add(CompareCommand.Create(console));
        root.Subcommands.Add(QuantizeCommand.Create(console));
        root.Subcommands.Add(PlanCommand.Create(console));
        return root;
    }

    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        var console = new CliConsole(output, error);
        var parse = Build(console).Parse(args);
        return parse.Invoke(new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false });
    }
}
