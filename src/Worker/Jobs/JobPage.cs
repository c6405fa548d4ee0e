namespace DSConvService.Worker.Jobs;

/// <summary>One page of jobs, newest first.</summary>
public sealed record JobPage(IReadOnlyList<Job> Items, int Page, int PageSize, long Total);
