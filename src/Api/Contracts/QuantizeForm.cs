namespace DSConvService.Api.Contracts;

/// <summary>The multipart form of POST /quantize (DESIGN 5).</summary>
public sealed class QuantizeForm
{
    /// <summary>The fp32 model, an .onnx file (required).</summary>
    public IFormFile? Model { get; set; }

    /// <summary>A zip of unlabelled images in any folder layout, used by adaptation.</summary>
    public IFormFile? Calibration { get; set; }

    /// <summary>A zip in ImageFolder layout &lt;class&gt;/&lt;file&gt; for accuracy.</summary>
    public IFormFile? Evaluation { get; set; }

    /// <summary>Text, one class name per line, in model output order.</summary>
    public IFormFile? Labels { get; set; }

    /// <summary>
    /// JSON, e.g. {"weightBits":4,"blockSize":32,"activationBits":8,"kds":"l2","adapt":false,
    /// "preprocessing":{"width":224,"height":224,"resize":"center-crop","colorMode":"rgb","scale":0.00392156862,
    /// "mean":[0.485,0.456,0.406],"std":[0.229,0.224,0.225]}}
    /// </summary>
    public string? Options { get; set; }
}
