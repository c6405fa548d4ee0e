namespace DSConvService.Bench;

public static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "dsconv")
        {
            return DSConvBench.Run(args[1..]);
        }
        Console.Error.WriteLine("bench: not implemented yet");
        return args.Length == 0 ? 1 : 1;
    }
}
