namespace DSConvService.Core.Errors;

/// <summary>
/// The root of every failure caused by what a user gave (model, options, images, datasets): the
/// message says what is wrong and what to change, in words meant for that user. The API answers these
/// with a 4xx problem, the worker fails the job with the message, the CLI prints it and exits with 2;
/// any other exception is a fault of ours.
/// </summary>
public abstract class InputException(string message, Exception? inner = null) : Exception(message, inner);
