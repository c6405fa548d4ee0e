using DSConvService.Core.Errors;

namespace DSConvService.Core.Imaging;

/// <summary>The bytes are not an image this service can decode safely; the message says why.</summary>
public sealed class InvalidImageException(string message, Exception? inner = null) : InputException(message, inner);
