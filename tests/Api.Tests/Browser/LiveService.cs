using DSConvService.Api.Tests.Support;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace DSConvService.Api.Tests.Browser;

/// <summary>The whole service on a real Kestrel port (a browser cannot reach the in-memory test server).</summary>
public static class LiveService
{
    public static (ServiceApp App, string BaseUrl, HttpClient Client) Start(string dataDirectory, Dictionary<string, string?>? settings = null)
    {
        var app = new ServiceApp(dataDirectory, settings);
        app.UseKestrel(0);
        app.StartServer();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var baseUrl = address.Replace("[::]", "127.0.0.1").Replace("0.0.0.0", "127.0.0.1").TrimEnd('/');
        return (app, baseUrl, new HttpClient { BaseAddress = new Uri(baseUrl) });
    }
}
