using System.Text.Json.Nodes;
using DSConvService.Core.Planning;
using DSConvService.Worker.Jobs;

namespace DSConvService.Api.Extensions;

public static class ApiDocsExtensions
{
    private const string OptionsExample = """
        {"weightBits":4,"blockSize":32,"activationBits":8,"kds":"l2","adapt":false,
         "preprocessing":{"width":224,"height":224,"resize":"center-crop","colorMode":"rgb",
                          "scale":0.00392156862,"mean":[0.485,0.456,0.406],"std":[0.229,0.224,0.225]}}
        """;

    private const string PlanOptionsExample = """{"weightBits":4,"blockSize":32,"target":{"cosine":0.99,"minCompression":6.5}}""";

    private const string PlanExample = """
        {"layers":[{"name":"conv1","op":"Conv","inputShape":[1,3,224,224],"outputShape":[1,64,112,112],"macs":118013952,"parameters":9408,
                    "settings":{"weightBits":4,"blockSize":32,"activationBits":8,"exponentBits":8},"storage":"INT4",
                    "kernelPath":{"path":"float","reason":"Float (avx512-vnni): channel blocks of at most 4 channels: the float form is faster"},
                    "estimatedBytes":11232,"sensitivity":null},
                   {"name":"layer1.0.conv1","op":"Conv","inputShape":[1,64,56,56],"outputShape":[1,64,56,56],"macs":115605504,"parameters":36864,
                    "settings":{"weightBits":4,"blockSize":32,"activationBits":8,"exponentBits":8},"storage":"INT4",
                    "kernelPath":{"path":"integer","reason":"PixelVector on Avx512Int16 (avx512-vnni): integer GEMM over 32-pixel tiles"},
                    "estimatedBytes":20992,"sensitivity":null}],
         "totals":{"estimatedBytes":8980311,"compressionRatio":7.09,"bitsPerWeight":4.503},
         "unsupportedOperators":[]}
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
                else if (context.JsonTypeInfo.Type == typeof(ModelPlan))
                {
                    schema.Example = JsonNode.Parse(PlanExample);
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

    public static string PlanOptionsExampleJson => PlanOptionsExample;
}
