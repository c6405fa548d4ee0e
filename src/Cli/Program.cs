namespace DSConvService.Cli;

public static class Program
{
    public static int Main(string[] args)
    {
        Console.Error.WriteLine("dsconv: not implemented yet");
        return args.Length == 0 ? 1 : 1;
    }
}
