using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;

namespace DSConvService.Api.Extensions;

/// <summary>
/// Reads a multipart/form-data body one part at a time straight from the request stream, so that a
/// file is copied to where it belongs as it arrives: nothing is buffered whole in memory and the
/// framework writes no temp files (IFormFile would).
/// </summary>
public static class MultipartStreaming
{
    /// <summary>Most bytes of a text field (e.g. options).</summary>
    public const int MaxTextFieldBytes = 1024 * 1024;

    /// <summary>One part: its field name, file name (if any) and body, valid until the next part is read.</summary>
    public sealed record Part(string Name, string? FileName, Stream Body)
    {
        public async Task<string> ReadTextAsync(int maxBytes, CancellationToken ct)
        {
            using var buffer = new MemoryStream();
            var chunk = new byte[8192];
            int read;
            while ((read = await ReadAsync(chunk, ct)) > 0)
            {
                if (buffer.Length + read > maxBytes)
                {
                    throw new BadHttpRequestException($"The form field '{Name}' is larger than {maxBytes} bytes.", StatusCodes.Status413PayloadTooLarge);
                }
                buffer.Write(chunk, 0, read);
            }
            return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
        }

        /// <summary>A body that ends inside a field is the client's malformed request (400), not a fault of ours.</summary>
        private async Task<int> ReadAsync(byte[] chunk, CancellationToken ct)
        {
            try
            {
                return await Body.ReadAsync(chunk, ct);
            }
            catch (IOException e)
            {
                throw new BadHttpRequestException($"The form field '{Name}' ended before its boundary; the multipart body is incomplete or malformed.", StatusCodes.Status400BadRequest, e);
            }
        }
    }

    public static bool IsMultipart(HttpRequest request) =>
        request.ContentType is { } type && type.StartsWith("multipart/form-data", StringComparison.OrdinalIgnoreCase);

    public static async IAsyncEnumerable<Part> ReadAsync(HttpRequest request, [EnumeratorCancellation] CancellationToken ct)
    {
        if (!IsMultipart(request) || !MediaTypeHeaderValue.TryParse(request.ContentType, out var media)
            || HeaderUtilities.RemoveQuotes(media.Boundary).Value is not { Length: > 0 } boundary)
        {
            throw new BadHttpRequestException("The request must be multipart/form-data (with a boundary).", StatusCodes.Status400BadRequest);
        }
        var reader = new MultipartReader(boundary, request.Body) { HeadersLengthLimit = 16 * 1024 };
        while (true)
        {
            MultipartSection? section;
            try
            {
                section = await reader.ReadNextSectionAsync(ct);
            }
            catch (IOException e) when (e is not EndOfStreamException)
            {
                throw new BadHttpRequestException($"The multipart body is malformed ({e.Message}).", StatusCodes.Status400BadRequest, e);
            }
            if (section is null)
            {
                yield break;
            }
            var disposition = section.GetContentDispositionHeader();
            var name = HeaderUtilities.RemoveQuotes(disposition?.Name ?? default).Value;
            if (string.IsNullOrEmpty(name))
            {
                continue;
            }
            var fileName = HeaderUtilities.RemoveQuotes(disposition!.FileName).Value;
            if (string.IsNullOrEmpty(fileName))
            {
                fileName = HeaderUtilities.RemoveQuotes(disposition.FileNameStar).Value;
            }
            yield return new Part(name, string.IsNullOrEmpty(fileName) ? null : fileName, section.Body);
        }
    }
}
