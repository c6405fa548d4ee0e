using System.Text.Json.Nodes;
using DSConvService.Worker.Jobs;

namespace DSConvService.Api.Extensions;

public static class ApiDocsExtensions
{
    private const string OptionsExample = """
        {"weightBits":4,"blockSize":32,"activationBits":8,"kds":"l2","adapt":false,
         "preprocessing":{"width":224,"height":224,"resize":"center-crop","colorMode":"rgb",
                          "scale":0.00392156862,"mean":[0.485,0.456,0.406],"std":[0.229,0.224,0.225]}}
        """;

    /// <summary>The OpenAPI document (Microsoft.AspNetCore.OpenApi) with an example of the options JSON.</summary>
    public static IHostApplicationBuilder AddApiDocs(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOpenApi(options =>
        {
            options.AddDocumentTransformer((document, _, _) =>
            {
                document.Info.Title = "DSConvService";
                document.Info.Description = "Quantize a trained CNN (ONNX, fp32) with DSConv, measure what it cost, download the quantized model and serve inference on integer kernels.";
                return Task.CompletedTask;
            });
            options.AddSchemaTransformer((schema, context, _) =>
            {
                if (context.JsonTypeInfo.Type == typeof(QuantizeOptions))
                {
                    schema.Example = JsonNode.Parse(OptionsExample);
                }
                return Task.CompletedTask;
            });
        });
        return builder;
    }

    /// <summary>/openapi/v1.json and Swagger UI at /swagger.</summary>
    public static WebApplication MapApiDocs(this WebApplication app)
    {
        app.MapOpenApi();
        app.UseSwaggerUI(o =>
        {
            o.SwaggerEndpoint("/openapi/v1.json", "DSConvService v1");
            o.RoutePrefix = "swagger";
        });
        return app;
    }

    public static string OptionsExampleJson => OptionsExample;
}
