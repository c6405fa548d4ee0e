using DSConvService.Core.Errors;
using DSConvService.Worker.Jobs;
using DSConvService.Worker.Pipeline.Engine;

namespace DSConvService.Worker.Hosting;

/// <summary>
/// The one place that decides whether a job's failure is the fault of its input (fail at once, with
/// the message) or not (a bug, the disk, the database: retried with backoff within Jobs:MaxAttempts).
/// </summary>
public static class FailureClassifier
{
    /// <summary>True when the exception describes a problem of the job's input; its message is then the job's error.</summary>
    public static bool IsUserError(Exception e) => e switch
    {
        InputException or InferenceMemoryException or JobMemoryBudgetException => true,
        _ => false,
    };
}

/// <summary>The job's process grew by more than Jobs:MaxJobMemoryBytes while it ran.</summary>
public sealed class JobMemoryBudgetException(long grownBytes, long budget) : Exception(
    $"The job needed more memory than this worker's budget: the process grew by {grownBytes:N0} bytes, " +
    $"more than Jobs:MaxJobMemoryBytes ({budget:N0}). Use a smaller model input or fewer evaluation images, or raise the budget.");
