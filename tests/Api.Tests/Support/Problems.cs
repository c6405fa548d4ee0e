using System.Net;
using System.Text.Json;
using Xunit;

namespace DSConvService.Api.Tests.Support;

public static class Problems
{
    /// <summary>Asserts an RFC 9457 problem with the status and a detail mentioning <paramref name="detailContains"/>.</summary>
    public static async Task<JsonElement> AssertAsync(HttpResponseMessage response, HttpStatusCode status, string detailContains)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"Expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(body).RootElement;
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("title").GetString()));
        var detail = problem.TryGetProperty("detail", out var d) ? d.GetString() ?? "" : "";
        Assert.Contains(detailContains, detail, StringComparison.OrdinalIgnoreCase);
        return problem;
    }
}
