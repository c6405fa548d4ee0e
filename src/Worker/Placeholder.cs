namespace DSConvService.Worker;

internal static class Placeholder;
