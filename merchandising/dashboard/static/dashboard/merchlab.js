// Small dashboard behaviours that need no framework.
document.addEventListener("htmx:responseError", (event) => {
  const box = document.createElement("p");
  box.className = "error";
  box.setAttribute("role", "alert");
  box.textContent = `The server answered ${event.detail.xhr.status}; please retry.`;
  event.detail.target.prepend(box);
});
