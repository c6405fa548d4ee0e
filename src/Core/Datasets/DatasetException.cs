using DSConvService.Core.Errors;

namespace DSConvService.Core.Datasets;

/// <summary>A dataset zip cannot be used; the message says why and what to change.</summary>
public sealed class DatasetException(string message) : InputException(message);
